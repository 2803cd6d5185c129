using System.Diagnostics;
using System.Runtime.InteropServices;
using EdgeRuntime.Client;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Reporting;
using EdgeRuntime.Samples;
using EdgeRuntime.Server;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bench.ServerLoad;

/// <summary>
/// Load benchmark of the daemon against the fixture model: the same requests through in-process
/// <see cref="ModelRuntime.Run(IReadOnlyList{NamedTensor}, CancellationToken)"/> and through edgertd over its Unix
/// socket, interleaved in rounds within one run, sequentially (the hop's latency) and from N concurrent clients
/// (throughput), then N clients while the variant is switched back and forth (failures must be 0).
/// </summary>
public static class ServerBenchmark
{
    public sealed record Settings(int Clients, int Workers, int Rounds, int SequentialRequests, TimeSpan ConcurrentDuration, TimeSpan SwitchEvery, string WorkDirectory);

    public sealed record ModeFigures(string Mode, long Requests, long Failures, double Seconds, double Throughput, double MeanUs, double P50Us, double P95Us, double P99Us);

    public sealed record SwitchUnderLoad(int Clients, long Requests, long Failures, int Switches, double Seconds, double Throughput, IReadOnlyList<string> FirstFailures);

    public sealed record Report(
        string Machine, int Cores, int Clients, int Workers, int Rounds,
        IReadOnlyList<ModeFigures> Modes,
        double SequentialOverheadP50Us, double SequentialOverheadP99Us,
        double DaemonRunP50Us,
        double ConcurrentOverheadP50Us, double ConcurrentOverheadP99Us, double ConcurrentThroughputRatio,
        SwitchUnderLoad Switching)
    {
        public void WriteText(TextWriter output)
        {
            output.WriteLine($"machine: {Machine}, {Cores} cores; {Clients} clients, {Workers} workers, {Rounds} rounds");
            var table = new TextTable("mode", "requests", "failed", "req/s", "mean us", "p50 us", "p95 us", "p99 us");
            foreach (var mode in Modes)
            {
                table.Add(mode.Mode, mode.Requests, mode.Failures, Math.Round(mode.Throughput), mode.MeanUs, mode.P50Us, mode.P95Us, mode.P99Us);
            }
            table.WriteTo(output);
            output.WriteLine($"overhead of the daemon hop, 1 client: p50 {SequentialOverheadP50Us:0.#} us, p99 {SequentialOverheadP99Us:0.#} us (the run inside the daemon: p50 {DaemonRunP50Us:0.#} us)");
            output.WriteLine($"under {Clients} clients: p50 {ConcurrentOverheadP50Us:0.#} us, p99 {ConcurrentOverheadP99Us:0.#} us, throughput {ConcurrentThroughputRatio:0.###}x of in-process");
            var s = Switching;
            output.WriteLine($"variant switch under load: {s.Switches} switches, {s.Requests} requests, {s.Failures} failed ({s.Throughput:0} req/s)");
            foreach (string failure in s.FirstFailures)
            {
                output.WriteLine("  " + failure);
            }
        }
    }

    public static async Task<Report> RunAsync(Settings settings, TextWriter? log)
    {
        if (Directory.Exists(settings.WorkDirectory))
        {
            Directory.Delete(settings.WorkDirectory, recursive: true);
        }
        string model = SampleModels.WriteFashionCnn(Path.Combine(settings.WorkDirectory, "models"));
        string bundle = Path.Combine(settings.WorkDirectory, "bundle");
        BundleBuilder.Create(bundle, "fashion-cnn", [new VariantSource("a", model), new VariantSource("b", model)], description: "server benchmark");
        SharedOrtEnvironment.EnsureInitialized(1);

        var pixels = new float[28 * 28];
        var random = new Random(7);
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)random.NextDouble();
        }
        NamedTensor[] local = [NamedTensor.FromArray(SampleModels.FashionCnnInputName, pixels, 1, 1, 28, 28)];
        WireTensor[] remote = [WireTensor.FromArray(SampleModels.FashionCnnInputName, pixels, 1, 1, 28, 28)];

        using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { IntraOpThreads = 1 });
        var options = new ServerOptions
        {
            RuntimeDirectory = Path.Combine(settings.WorkDirectory, "run"),
            Bundles = [bundle],
            Workers = settings.Workers,
            QueueCapacity = Math.Max(64, settings.Clients * 4),
            IntraOpThreads = 1,
            // The benchmark switches variants itself; the governor must not switch them under the comparison.
            Adaptive = false,
        };
        await using var server = new EdgertdServer(options);
        await server.StartAsync();
        var clients = new List<EdgertClient>();
        try
        {
            for (int i = 0; i < settings.Clients + 1; i++)
            {
                var client = new EdgertClient(options.ResolvedSocketPath);
                await client.ConnectAsync();
                clients.Add(client);
            }
            var workers = clients.Take(settings.Clients).ToList();
            var control = clients[^1];
            log?.WriteLine($"fixture CNN, {settings.Clients} clients, {settings.Workers} workers, {Environment.ProcessorCount} cores, {settings.Rounds} interleaved rounds");

            // Warm both paths (JIT, sessions, socket buffers) before measuring.
            RunSequentialLocal(runtime, local, 300);
            await RunSequentialRemoteAsync(workers[0], remote, 300);

            var daemonRun = new List<double>();
            var samples = new Dictionary<string, (List<double> Micros, long Failures, double Seconds)>();
            void Add(string mode, (List<double> Micros, long Failures, double Seconds) run)
            {
                var current = samples.GetValueOrDefault(mode, ([], 0, 0));
                current.Micros.AddRange(run.Micros);
                samples[mode] = (current.Micros, current.Failures + run.Failures, current.Seconds + run.Seconds);
            }
            for (int round = 0; round < settings.Rounds; round++)
            {
                log?.WriteLine($"round {round + 1}/{settings.Rounds} ...");
                Add("in-process, 1 caller", RunSequentialLocal(runtime, local, settings.SequentialRequests));
                Add("edgertd, 1 client", await RunSequentialRemoteAsync(workers[0], remote, settings.SequentialRequests, daemonRun));
                Add("edgertd hello, no inference", await RunPingsAsync(workers[0], settings.SequentialRequests));
                Add($"in-process, {settings.Clients} threads", RunConcurrentLocal(runtime, local, settings.Clients, settings.ConcurrentDuration));
                Add($"edgertd, {settings.Clients} clients", await RunConcurrentRemoteAsync(workers, remote, settings.ConcurrentDuration, null));
            }

            log?.WriteLine($"switching variants every {settings.SwitchEvery.TotalMilliseconds:0} ms under load ...");
            var failures = new List<string>();
            int switches = 0;
            var switching = await RunConcurrentRemoteAsync(workers, remote, settings.ConcurrentDuration * Math.Max(1, settings.Rounds), async stop =>
            {
                string[] ids = ["b", "a"];
                while (!stop.IsCancellationRequested)
                {
                    await control.SetHintsAsync(new Dictionary<string, string> { ["variant"] = ids[switches % 2] });
                    switches++;
                    try
                    {
                        await Task.Delay(settings.SwitchEvery, stop);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }, failures);

            var modes = samples.Select(p => Figures(p.Key, p.Value.Micros, p.Value.Failures, p.Value.Seconds)).ToList();
            var localSequential = modes.Single(m => m.Mode == "in-process, 1 caller");
            var remoteSequential = modes.Single(m => m.Mode == "edgertd, 1 client");
            var localConcurrent = modes.Single(m => m.Mode == $"in-process, {settings.Clients} threads");
            var remoteConcurrent = modes.Single(m => m.Mode == $"edgertd, {settings.Clients} clients");
            return new Report(
                $"{RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}",
                Environment.ProcessorCount, settings.Clients, settings.Workers, settings.Rounds, modes,
                remoteSequential.P50Us - localSequential.P50Us, remoteSequential.P99Us - localSequential.P99Us,
                LatencyTracker.Percentile([.. daemonRun.Order()], 0.5),
                remoteConcurrent.P50Us - localConcurrent.P50Us, remoteConcurrent.P99Us - localConcurrent.P99Us,
                remoteConcurrent.Throughput / localConcurrent.Throughput,
                new SwitchUnderLoad(settings.Clients, switching.Micros.Count + switching.Failures, switching.Failures, switches, switching.Seconds,
                    switching.Micros.Count / switching.Seconds, failures.Take(5).ToList()));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
            await server.StopAsync();
            Directory.Delete(settings.WorkDirectory, recursive: true);
        }
    }

    private static (List<double>, long, double) RunSequentialLocal(ModelRuntime runtime, NamedTensor[] inputs, int count)
    {
        var micros = new List<double>(count);
        var total = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            long started = Stopwatch.GetTimestamp();
            runtime.Run(inputs);
            micros.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        return (micros, 0, total.Elapsed.TotalSeconds);
    }

    private static async Task<(List<double>, long, double)> RunSequentialRemoteAsync(EdgertClient client, WireTensor[] inputs, int count, List<double>? daemonRun = null)
    {
        var micros = new List<double>(count);
        var total = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            long started = Stopwatch.GetTimestamp();
            var result = await client.InferAsync(inputs);
            micros.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            daemonRun?.Add(result.RunTime.TotalMicroseconds);
        }
        return (micros, 0, total.Elapsed.TotalSeconds);
    }

    private static async Task<(List<double>, long, double)> RunPingsAsync(EdgertClient client, int count)
    {
        var micros = new List<double>(count);
        var total = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            long started = Stopwatch.GetTimestamp();
            await client.PingAsync();
            micros.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        return (micros, 0, total.Elapsed.TotalSeconds);
    }

    private static (List<double>, long, double) RunConcurrentLocal(ModelRuntime runtime, NamedTensor[] inputs, int threads, TimeSpan duration)
    {
        var perThread = Enumerable.Range(0, threads).Select(_ => new List<double>()).ToArray();
        var total = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            while (total.Elapsed < duration)
            {
                long started = Stopwatch.GetTimestamp();
                runtime.Run(inputs);
                perThread[t].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        return ([.. perThread.SelectMany(l => l)], 0, total.Elapsed.TotalSeconds);
    }

    private static async Task<(List<double> Micros, long Failures, double Seconds)> RunConcurrentRemoteAsync(
        IReadOnlyList<EdgertClient> clients, WireTensor[] inputs, TimeSpan duration, Func<CancellationToken, Task>? alongside, List<string>? failures = null)
    {
        var perClient = clients.Select(_ => new List<double>()).ToArray();
        long failed = 0;
        using var stop = new CancellationTokenSource();
        var total = Stopwatch.StartNew();
        var side = alongside?.Invoke(stop.Token) ?? Task.CompletedTask;
        var loops = clients.Select((client, c) => Task.Run(async () =>
        {
            while (total.Elapsed < duration)
            {
                long started = Stopwatch.GetTimestamp();
                try
                {
                    await client.InferAsync(inputs);
                    perClient[c].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                }
                catch (EdgertException e)
                {
                    Interlocked.Increment(ref failed);
                    lock (perClient)
                    {
                        failures?.Add($"{e.Code}: {e.Message}");
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(loops);
        double seconds = total.Elapsed.TotalSeconds;
        await stop.CancelAsync();
        await side;
        return ([.. perClient.SelectMany(l => l)], failed, seconds);
    }

    private static ModeFigures Figures(string mode, List<double> micros, long failures, double seconds)
    {
        micros.Sort();
        return new ModeFigures(mode, micros.Count, failures, seconds, micros.Count / seconds,
            micros.Count == 0 ? double.NaN : micros.Average(),
            LatencyTracker.Percentile(micros, 0.50), LatencyTracker.Percentile(micros, 0.95), LatencyTracker.Percentile(micros, 0.99));
    }
}
