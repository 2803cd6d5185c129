using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Simulation;

/// <summary>
/// `edgert simulate --live`: real ONNX Runtime inferences in real time, the real governor and device monitor,
/// and a simulated board heated by the measured busy time (scaled by the board's slowdown).
/// </summary>
public static class LiveSimulation
{
    public sealed record LiveReport(string Board, double Seconds, double RatePerSecond, double SloP95Ms, long Requests, long Failed,
        double SloAttainment, double MaxCelsius, double SecondsThrottled, IReadOnlyDictionary<string, long> ServedByVariant, IReadOnlyList<GovernorDecision> Switches);

    public static LiveReport Run(ModelBundle bundle, BoardDescriptor board, SimulationOptions options, string workDirectory, TextWriter? log)
    {
        double slowdown = options.BoardSlowdown ?? BoardSpeed.SlowdownFor(board.Id);
        var simulated = new SimulatedBoard(board, Path.Combine(workDirectory, "board"), ambientCelsius: options.AmbientCelsius, seed: options.Seed) { WriteAfterEachStep = false };
        var monitor = DeviceMonitor.ForBoard(board, simulated.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, TimeProvider.System);
        using var runtime = ModelRuntime.Open(bundle);
        var reference = runtime.GetStatus().First(s => s.Id == bundle.Manifest.ReferenceVariant);
        var inputs = Benchmarker.MakeInputs(runtime.Inputs, new BenchOptions { RequireSizedDimensions = false });
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 200; i++)
        {
            runtime.Run(inputs, reference.Id);
        }
        double referenceBoardMs = watch.Elapsed.TotalMilliseconds / 200 * slowdown;
        double rate = options.RatePerSecond ?? options.Load / (referenceBoardMs / 1000);
        double slo = options.SloP95Ms ?? SimulationOptions.DefaultSloFactor * referenceBoardMs;
        var profile = ProfileCatalog.BuiltIn(board.Id);
        var costs = runtime.GetStatus().Where(s => s.State != VariantState.Unavailable).Select(s => s.Manifest).ToList();
        using var controller = new AdaptiveController(runtime, new ProfileStore(profile), monitor, TimeProvider.System)
        {
            Hints = new GovernorHints { SloP95Ms = slo / slowdown },
        };
        log?.WriteLine($"live on a simulated {board.Id}: {rate:F0} requests/s for {options.Duration.TotalSeconds:F0} s, SLO p95 {slo:F3} ms on the board");

        long busyTicks = 0, requests = 0, failed = 0;
        var served = new ConcurrentDictionary<string, long>();
        var windows = new ConcurrentDictionary<long, ConcurrentBag<double>>();
        using var stop = new CancellationTokenSource(options.Duration);
        var random = new Random(options.Seed);
        var clock = Stopwatch.StartNew();
        var workers = new List<Task>();
        var sender = Task.Run(async () =>
        {
            double next = 0;
            while (!stop.IsCancellationRequested)
            {
                next += -Math.Log(1 - random.NextDouble()) / rate;
                double wait = next - clock.Elapsed.TotalSeconds;
                if (wait > 0.002)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait));
                }
                double arrival = clock.Elapsed.TotalSeconds;
                Interlocked.Increment(ref requests);
                ThreadPool.UnsafeQueueUserWorkItem(_ =>
                {
                    long start = Stopwatch.GetTimestamp();
                    try
                    {
                        var result = runtime.Run(inputs);
                        Interlocked.Add(ref busyTicks, Stopwatch.GetTimestamp() - start);
                        served.AddOrUpdate(result.VariantId, 1, (_, n) => n + 1);
                        double boardLatencyMs = (clock.Elapsed.TotalSeconds - arrival) * 1000 * slowdown;
                        windows.GetOrAdd((long)clock.Elapsed.TotalSeconds, _ => []).Add(boardLatencyMs);
                    }
                    catch (Exception e) when (e is InvalidInputException or VariantUnavailableException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }, null);
            }
        });

        controller.Start();
        double throttled = 0, maxCelsius = simulated.Celsius;
        long lastBusy = 0;
        var lastStep = clock.Elapsed;
        while (!stop.IsCancellationRequested)
        {
            Thread.Sleep(100);
            var now = clock.Elapsed;
            long busy = Interlocked.Read(ref busyTicks);
            double wall = (now - lastStep).TotalSeconds;
            double utilisation = Math.Clamp((busy - lastBusy) / (double)Stopwatch.Frequency * slowdown / wall, 0, 1);
            simulated.Step(now - lastStep, utilisation);
            simulated.WriteTree();
            if (simulated.CapMhz < board.CpuFreq.StepsMhz[0])
            {
                throttled += wall;
            }
            maxCelsius = Math.Max(maxCelsius, simulated.Celsius);
            lastBusy = busy;
            lastStep = now;
        }
        sender.Wait();
        controller.Dispose();
        Thread.Sleep(200); // let queued requests finish before the runtime goes
        var met = windows.Values.Count(w =>
        {
            var sorted = w.Order().ToList();
            return LatencyTracker.Percentile(sorted, 0.95) <= slo;
        });
        return new LiveReport(board.Id, clock.Elapsed.TotalSeconds, rate, slo, requests, failed,
            windows.Count == 0 ? 1 : (double)met / windows.Count, maxCelsius, throttled,
            served.ToDictionary(p => p.Key, p => p.Value), [.. controller.RecentDecisions.Where(d => d.Switched)]);
    }

    public static void WriteText(TextWriter output, LiveReport report)
    {
        output.WriteLine($"{report.Requests} requests in {report.Seconds:F0} s, {report.Failed} failed; SLO met in {report.SloAttainment:P1} of 1-s windows; max {report.MaxCelsius:F1} °C; throttled {report.SecondsThrottled:F0} s");
        output.WriteLine($"served: {string.Join(", ", report.ServedByVariant.Select(p => $"{p.Key} {p.Value}"))}");
        foreach (var decision in report.Switches)
        {
            output.WriteLine($"  {decision.At:HH:mm:ss} {decision.Previous} -> {decision.Variant}: {decision.Reason} ({decision.Detail})");
        }
    }
}
