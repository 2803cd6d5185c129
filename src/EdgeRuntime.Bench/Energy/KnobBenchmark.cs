using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Client;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Reporting;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bench.Energy;

/// <summary>
/// What the daemon's threads and spinning cost in CPU: for each setting it starts a real daemon process on the bundle,
/// sends requests at a fixed rate for a while, and reads the daemon's CPU time from /proc/PID/stat before and after.
/// The baseline, measured in this process in the same run before every setting, is one inference on one thread
/// (thread CPU clock, median). Output: daemon CPU-seconds per inference, its ratio to the baseline, and p50/p95.
/// </summary>
public static class KnobBenchmark
{
    /// <summary>How to start the daemon: the executable and arguments before "serve" (e.g. the CLI's dll under dotnet).</summary>
    public sealed record DaemonCommand(string File, IReadOnlyList<string> PrefixArguments)
    {
        /// <summary>
        /// Starts <c>serve</c> as a device runs the daemon: edgertd ships with tiered compilation off, since re-compiling
        /// hot methods kept a daemon at a few requests a second at twice its CPU per inference for its first minutes.
        /// A DOTNET_TieredCompilation set by the caller wins.
        /// </summary>
        public ProcessStartInfo StartInfo(IEnumerable<string> serveArguments)
        {
            var start = new ProcessStartInfo(File) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string argument in PrefixArguments.Concat(["serve"]).Concat(serveArguments))
            {
                start.ArgumentList.Add(argument);
            }
            if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") is null)
            {
                start.Environment["DOTNET_TieredCompilation"] = "0";
            }
            return start;
        }
    }

    public sealed record Settings(
        string Bundle, double RatePerSecond, TimeSpan Duration, IReadOnlyList<string?> Knobs,
        IReadOnlyDictionary<string, long[]> Shapes, DaemonCommand Daemon, string WorkDirectory, TimeSpan Settle)
    {
        /// <summary>How long the daemon's CPU is read without requests (at most <see cref="Duration"/>).</summary>
        public TimeSpan IdleDuration { get; init; } = TimeSpan.FromSeconds(10);

        /// <summary>Device class to record the explicit settings' figures under in the bundle's manifest (costs.CLASS.knobs); null records nothing.</summary>
        public string? RecordAs { get; init; }

        /// <summary>One variant of the bundle to serve alone and measure (each variant parallelises and spins differently); null: the bundle as it serves.</summary>
        public string? Variant { get; init; }
    }

    public sealed record SettingFigures(
        string Setting, long Requests, long Failures, double DaemonCpuSeconds, double CpuSecondsPerInference,
        double BaselineCpuMs, double Ratio, double P50Ms, double P95Ms, double IdleCpuMsPerSecond, double NetRatio, string? Note)
    {
        /// <summary>Threads the daemon reported at the end ("1", "all", "all+spin").</summary>
        public string? DaemonKnobs { get; init; }
        /// <summary>The daemon's own CPU-per-inference figure from its status (its accounting, to check against /proc).</summary>
        public double? DaemonReportedCpuMsPerInference { get; init; }
        public double? SloP95Ms { get; init; }
        /// <summary>CPU of the daemon's ONNX Runtime runs per inference (thread CPU clocks around each run), from its status.</summary>
        public double? DaemonRunCpuMs { get; init; }
        /// <summary>Single-thread compute in this process with runs spaced at the request rate (caches as cold as the daemon's).</summary>
        public double PacedBaselineCpuMs { get; init; }
        /// <summary>The same, with the thread busy-waiting between runs instead of sleeping (the core never idles).</summary>
        public double PacedAwakeBaselineCpuMs { get; init; }
        /// <summary>What the daemon spent per request beside the run itself (process CPU less run CPU).</summary>
        public double? DaemonOverheadMs => DaemonRunCpuMs is double run ? CpuSecondsPerInference * 1000 - run : null;
    }

    public sealed record Report(string Machine, string Isa, int Cores, string Bundle, string Variant, double RatePerSecond, double Seconds,
        double BaselineCpuMs, double BaselineWallMs, IReadOnlyList<SettingFigures> Settings, string LoadAverage)
    {
        public void WriteText(TextWriter output)
        {
            output.WriteLine($"machine: {Machine}; ISA {Isa}");
            output.WriteLine($"{Bundle} ({Variant}) at {RatePerSecond:0.#} req/s, {Seconds:0} s per setting; single-thread compute in this run: {BaselineCpuMs:F2} ms CPU, {BaselineWallMs:F2} ms wall");
            var table = new TextTable("setting", "threads", "requests", "failed", "daemon CPU s", "CPU ms/inference", "vs 1-thread compute", "idle CPU ms/s", "net of idle",
                "p50 ms", "p95 ms", "daemon's own ms/inf", "run CPU ms/inf", "rest ms/inf", "paced 1-thread ms", "paced, core awake ms", "vs paced");
            foreach (var s in Settings)
            {
                table.Add(s.Setting, s.DaemonKnobs ?? "-", s.Requests, s.Failures, Math.Round(s.DaemonCpuSeconds, 2), Math.Round(s.CpuSecondsPerInference * 1000, 2),
                    $"{s.Ratio:F2}x", Math.Round(s.IdleCpuMsPerSecond, 1), $"{s.NetRatio:F2}x", Math.Round(s.P50Ms, 2), Math.Round(s.P95Ms, 2),
                    s.DaemonReportedCpuMsPerInference is double own ? Math.Round(own, 2) : "-",
                    s.DaemonRunCpuMs is double run ? Math.Round(run, 3) : "-", s.DaemonOverheadMs is double rest ? Math.Round(rest, 3) : "-",
                    Math.Round(s.PacedBaselineCpuMs, 3), Math.Round(s.PacedAwakeBaselineCpuMs, 3), $"{s.CpuSecondsPerInference * 1000 / s.PacedBaselineCpuMs:F2}x");
            }
            table.WriteTo(output);
            output.WriteLine($"load average during the run: {LoadAverage}");
            if (RecordedAs is not null)
            {
                output.WriteLine($"recorded {string.Join(", ", Settings.Select(s => s.Setting).Where(IsExplicit))} as costs.{RecordedAs}.knobs of variant {Variant} in the bundle's manifest");
            }
        }

        /// <summary>The device class the figures were recorded under, when they were.</summary>
        public string? RecordedAs { get; init; }
    }

    /// <summary>A setting that names its threads and spinning (not the governor's choice).</summary>
    private static bool IsExplicit(string setting) => !setting.StartsWith("default", StringComparison.Ordinal);

    public static async Task<Report> RunAsync(Settings settings, TextWriter? log, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the knob benchmark reads /proc and runs on Linux only");
        }
        if (!(settings.RatePerSecond > 0) || settings.Duration <= TimeSpan.Zero)
        {
            throw new ArgumentException("the request rate and the duration must be positive");
        }
        if (settings.RecordAs is not null && !Directory.Exists(settings.Bundle))
        {
            throw new ArgumentException($"--record writes into a bundle's manifest; '{settings.Bundle}' is not a bundle directory");
        }
        var bundle = ModelBundle.OpenPath(settings.Bundle);
        string served = settings.Bundle;
        if (settings.Variant is string wanted)
        {
            var entry = bundle.Manifest.FindVariant(wanted)
                ?? throw new ArgumentException($"bundle '{bundle.Name}' has no variant '{wanted}' (has: {string.Join(", ", bundle.Manifest.Variants.Select(v => v.Id))})");
            served = Path.Combine(bundle.Directory, entry.File);
            bundle = ModelBundle.OpenPath(served);
        }
        var machine = MachineInfo.Current();
        using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { Knobs = ExecutionKnobs.SingleThread, ValidateAllVariantsOnOpen = false });
        var inputs = MakeInputs(runtime.Inputs, settings.Shapes);
        WireTensor[] wire = [.. inputs.Select(t => new WireTensor(t.Name, t.ElementType.ToName(), t.Shape, t.Data.ToArray()))];
        string variant = settings.Variant ?? runtime.CurrentVariant;
        log?.WriteLine($"{bundle.Name} ({variant}), inputs {string.Join(", ", inputs.Select(i => $"{i.Name}[{string.Join("x", i.Shape)}]"))}; {machine}");

        var baselineCpu = new List<double>();
        var baselineWall = new List<double>();
        var figures = new List<SettingFigures>();
        Directory.CreateDirectory(settings.WorkDirectory);
        foreach (string? knobs in settings.Knobs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // The baseline before every setting: interleaved, so load changes on the machine hit both alike.
            var (cpu, wall) = MeasureSingleThread(runtime, inputs, 15);
            baselineCpu.AddRange(cpu);
            baselineWall.AddRange(wall);
            double baselineMs = Median(cpu);
            double pacedMs = Median((await MeasurePacedAsync(runtime, inputs, settings.RatePerSecond, 30, keepCoreAwake: false, cancellationToken)).CpuMs);
            double pacedAwakeMs = Median((await MeasurePacedAsync(runtime, inputs, settings.RatePerSecond, 30, keepCoreAwake: true, cancellationToken)).CpuMs);
            double? slo = knobs is not null && knobs.StartsWith("slo=", StringComparison.Ordinal)
                ? double.Parse(knobs["slo=".Length..], System.Globalization.CultureInfo.InvariantCulture)
                : null;
            string name = knobs is null ? "default (governor)" : slo is not null ? $"default, SLO p95 {slo:0.#} ms" : knobs;
            log?.WriteLine($"{name}: baseline 1-thread compute {baselineMs:F2} ms CPU; daemon at {settings.RatePerSecond:0.#}/s for {settings.Duration.TotalSeconds:0} s ...");
            var run = await RunDaemonAsync(settings, served, slo is null ? knobs : null, slo, wire, cancellationToken);
            double perInference = run.Requests > 0 ? run.CpuSeconds / run.Requests : double.NaN;
            // What the daemon costs without requests (its device loop, timers) over the same time, taken out for the net figure.
            double idleSeconds = run.IdleCpuSecondsPerSecond * settings.Duration.TotalSeconds;
            double netPerInference = run.Requests > 0 ? (run.CpuSeconds - idleSeconds) / run.Requests : double.NaN;
            figures.Add(new SettingFigures(name, run.Requests, run.Failures, run.CpuSeconds, perInference, baselineMs,
                perInference * 1000 / baselineMs, Percentile(run.LatencyMs, 0.5), Percentile(run.LatencyMs, 0.95),
                run.IdleCpuSecondsPerSecond * 1000, netPerInference * 1000 / baselineMs, run.Note)
            {
                DaemonKnobs = run.Knobs,
                DaemonReportedCpuMsPerInference = run.ReportedCpuMsPerInference,
                SloP95Ms = slo,
                DaemonRunCpuMs = run.RunCpuMsPerInference,
                PacedBaselineCpuMs = pacedMs,
                PacedAwakeBaselineCpuMs = pacedAwakeMs,
            });
        }
        var report = new Report(machine.ToString(), string.Join(" ", machine.InstructionSets), Environment.ProcessorCount, bundle.Name, variant, settings.RatePerSecond,
            settings.Duration.TotalSeconds, Median(baselineCpu), Median(baselineWall), figures, LoadAverage());
        if (settings.RecordAs is string deviceClass && figures.Any(f => IsExplicit(f.Setting) && f.Failures == 0))
        {
            CostRecorder.RecordKnobs(settings.Bundle, deviceClass, variant, KnobCosts(figures, settings.RatePerSecond), DateTimeOffset.UtcNow);
            report = report with { RecordedAs = deviceClass };
        }
        return report;
    }

    /// <summary>The explicit settings' figures as manifest knob costs, keyed by the setting's code.</summary>
    public static Dictionary<string, KnobCost> KnobCosts(IEnumerable<SettingFigures> figures, double rate) =>
        figures.Where(f => IsExplicit(f.Setting) && f.Failures == 0 && f.Requests > 0)
            .Select(f => (Knobs: ExecutionKnobs.Parse(f.Setting), Figures: f))
            .ToDictionary(p => p.Knobs.Code, p => new KnobCost
            {
                LatencyP50Ms = Math.Round(p.Figures.P50Ms, 4),
                LatencyP95Ms = Math.Round(p.Figures.P95Ms, 4),
                CpuMsPerInference = Math.Round(p.Figures.CpuSecondsPerInference * 1000, 4),
                Threads = p.Knobs.ThreadCount,
                RatePerSecond = rate,
            });

    private static (List<double> CpuMs, List<double> WallMs) MeasureSingleThread(ModelRuntime runtime, NamedTensor[] inputs, int runs)
    {
        runtime.Run(inputs, ExecutionKnobs.SingleThread);
        var cpu = new List<double>(runs);
        var wall = new List<double>(runs);
        for (int i = 0; i < runs; i++)
        {
            var result = runtime.Run(inputs, ExecutionKnobs.SingleThread);
            cpu.Add(result.CallerCpuTime.TotalMilliseconds);
            wall.Add(result.Latency.TotalMilliseconds);
        }
        return (cpu, wall);
    }

    /// <summary>Single-thread runs spaced at the request rate, as the daemon sees them: between two requests other work evicts the
    /// model from the caches, so each run starts colder than in a back-to-back loop. With <paramref name="keepCoreAwake"/> the
    /// thread busy-waits through the gap instead of sleeping (touching no memory): if runs are as slow as when it sleeps, the
    /// cost is the caches', not the core's idle states or clock.</summary>
    private static async Task<(List<double> CpuMs, List<double> WallMs)> MeasurePacedAsync(ModelRuntime runtime, NamedTensor[] inputs, double rate, int runs,
        bool keepCoreAwake, CancellationToken cancellationToken)
    {
        var cpu = new List<double>(runs);
        var wall = new List<double>(runs);
        var gap = TimeSpan.FromSeconds(1 / rate);
        for (int i = 0; i < runs; i++)
        {
            if (keepCoreAwake)
            {
                cancellationToken.ThrowIfCancellationRequested();
                for (long until = Stopwatch.GetTimestamp() + (long)(gap.TotalSeconds * Stopwatch.Frequency); Stopwatch.GetTimestamp() < until;)
                {
                }
            }
            else
            {
                await Task.Delay(gap, cancellationToken);
            }
            var result = runtime.Run(inputs, ExecutionKnobs.SingleThread);
            cpu.Add(result.CallerCpuTime.TotalMilliseconds);
            wall.Add(result.Latency.TotalMilliseconds);
        }
        return (cpu, wall);
    }

    private sealed record DaemonRun(long Requests, long Failures, double CpuSeconds, List<double> LatencyMs, double IdleCpuSecondsPerSecond, string? Note,
        string? Knobs, double? ReportedCpuMsPerInference, double? RunCpuMsPerInference);

    private static async Task<DaemonRun> RunDaemonAsync(Settings settings, string served, string? knobs, double? slo, WireTensor[] inputs, CancellationToken cancellationToken)
    {
        string socket = Path.Combine(settings.WorkDirectory, $"knobs-{Guid.NewGuid():N}.sock");
        string[] knobArguments = knobs is null ? [] : ["--knobs", knobs];
        var start = settings.Daemon.StartInfo([Path.GetFullPath(served), "--socket", socket, .. knobArguments]);
        using var daemon = Process.Start(start) ?? throw new InvalidOperationException($"could not start {settings.Daemon.File}");
        var output = new System.Text.StringBuilder();
        daemon.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        daemon.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        try
        {
            var ready = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (daemon.HasExited || ready.Elapsed > TimeSpan.FromMinutes(3))
                {
                    lock (output)
                    {
                        throw new InvalidOperationException($"the daemon did not open its socket (exit {(daemon.HasExited ? daemon.ExitCode : -1)}): {output}");
                    }
                }
                await Task.Delay(100, cancellationToken);
            }
            await using var client = new EdgertClient(socket);
            await client.ConnectAsync(cancellationToken);
            if (slo is double target)
            {
                await client.SetHintsAsync(new Dictionary<string, string> { ["slo_p95_ms"] = target.ToString(System.Globalization.CultureInfo.InvariantCulture) }, cancellationToken: cancellationToken);
            }
            // Warm the daemon at the same rate, so the governor has figures and has settled before the measurement.
            await SendAtRateAsync(client, inputs, settings.RatePerSecond, settings.Settle, null, cancellationToken);
            var idleFor = settings.Duration < settings.IdleDuration ? settings.Duration : settings.IdleDuration;
            var idleBefore = CpuClock.ProcStat(daemon.Id);
            await Task.Delay(idleFor, cancellationToken);
            double idleRate = (CpuClock.ProcStat(daemon.Id) - idleBefore).TotalSeconds / idleFor.TotalSeconds;
            var latencies = new List<double>();
            var modelBefore = (await client.StatusAsync(cancellationToken: cancellationToken)).Models.FirstOrDefault();
            var before = CpuClock.ProcStat(daemon.Id);
            var (requests, failures, note) = await SendAtRateAsync(client, inputs, settings.RatePerSecond, settings.Duration, latencies, cancellationToken);
            var after = CpuClock.ProcStat(daemon.Id);
            var status = await client.StatusAsync(cancellationToken: cancellationToken);
            var modelAfter = status.Models.FirstOrDefault();
            double? runCpuMs = modelBefore is not null && modelAfter is not null && modelAfter.Runs > modelBefore.Runs
                ? (modelAfter.RunCpuSeconds - modelBefore.RunCpuSeconds) * 1000 / (modelAfter.Runs - modelBefore.Runs)
                : null;
            return new DaemonRun(requests, failures, (after - before).TotalSeconds, latencies, idleRate, note,
                modelAfter?.Knobs, status.Server.CpuSecondsPerInference * 1000, runCpuMs);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill(entireProcessTree: true);
                await daemon.WaitForExitAsync(CancellationToken.None);
            }
            File.Delete(socket);
        }
    }

    /// <summary>Open-loop at a fixed rate: request i goes at start + i/rate (at once when the previous answer came late).</summary>
    private static async Task<(long Requests, long Failures, string? Note)> SendAtRateAsync(
        EdgertClient client, WireTensor[] inputs, double rate, TimeSpan duration, List<double>? latencies, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long requests = 0;
        long failures = 0;
        string? note = null;
        for (long i = 0; ; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due >= duration)
            {
                break;
            }
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
            long started = Stopwatch.GetTimestamp();
            try
            {
                await client.InferAsync(inputs, cancellationToken: cancellationToken);
                latencies?.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failures++;
                note ??= e.Message;
            }
            requests++;
        }
        return (requests, failures, note);
    }

    /// <summary>Inputs from the model's signature: symbolic dimensions from <paramref name="shapes"/> (else 1); integers are
    /// ones (a valid token id and attention mask for text models), floats uniform in [0, 1).</summary>
    public static NamedTensor[] MakeInputs(IReadOnlyList<TensorSignature> signature, IReadOnlyDictionary<string, long[]> shapes)
    {
        var random = new Random(19);
        return
        [
            .. signature.Select(input =>
            {
                long[] shape = shapes.TryGetValue(input.Name, out var given)
                    ? given
                    : [.. input.Shape.Select(d => d.Size ?? 1)];
                if (shape.Length != input.Shape.Count)
                {
                    throw new ArgumentException($"shape for input '{input.Name}' has rank {shape.Length}; the model's is {input.Shape.Count} ({input})");
                }
                var tensor = NamedTensor.Zeros(input.Name, input.ElementType, shape);
                switch (input.ElementType)
                {
                    case ElementType.Float32:
                        foreach (ref float v in tensor.AsSpan<float>())
                        {
                            v = (float)random.NextDouble();
                        }
                        break;
                    case ElementType.Int64:
                        tensor.AsSpan<long>().Fill(1);
                        break;
                    case ElementType.Int32:
                        tensor.AsSpan<int>().Fill(1);
                        break;
                }
                return tensor;
            }),
        ];
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToList();
        return LatencyTracker.Percentile(sorted, fraction);
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
