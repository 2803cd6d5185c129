using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using EdgeRuntime.Client;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Reporting;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Samples;
using EdgeRuntime.Server;

namespace EdgeRuntime.Bench.ServerLoad;

/// <summary>
/// The daemon under a local denial-of-service attempt: many connections that send nothing and frames sent only
/// in part. In interleaved rounds it measures inference latency with no attack and with the attack open, and times
/// `edgert status` run as a separate process during the attack. It runs the daemon twice: with its default
/// protections (each process and user gets a share of the slots; the rest of the flood is refused) and with the
/// connection caps raised so every hostile connection is held open (what the per-connection threads and read
/// deadlines cost).
/// </summary>
public static class HostileLoadBenchmark
{
    /// <param name="StatusCommand">Program and leading arguments that run `edgert status` (the socket option is appended).</param>
    public sealed record Settings(int IdleConnections, int HalfSentFrames, int Rounds, int Requests, int Workers, IReadOnlyList<string> StatusCommand, string WorkDirectory);

    public sealed record RoundFigures(int Round, double IdleP50Us, double IdleP99Us, double AttackP50Us, double AttackP99Us, double StatusProcessMs, bool StatusAnswered,
        int HostileHeld, long Refused);

    public sealed record ConfigurationFigures(
        string Configuration, IReadOnlyList<RoundFigures> Rounds,
        double IdleP99Us, double AttackP99Us, double P99Ratio, double WorstStatusProcessMs, bool EveryStatusAnswered, string? StatusFailure)
    {
        /// <summary>Both goals: status from another process within 2 s every time, and attack p99 within 2× of idle.</summary>
        public bool Holds => EveryStatusAnswered && WorstStatusProcessMs <= 2000 && P99Ratio <= 2;
    }

    public sealed record Report(int IdleConnections, int HalfSentFrames, int Requests, int Workers, IReadOnlyList<ConfigurationFigures> Configurations)
    {
        public string Machine { get; init; } = MachineInfo.Current().ToString();
        public bool Holds => Configurations.All(c => c.Holds);

        public void WriteText(TextWriter output)
        {
            output.WriteLine($"machine: {Machine}; {Workers} workers; {IdleConnections} idle connections + {HalfSentFrames} half-sent frames");
            var table = new TextTable("configuration", "idle p99 us", "attack p99 us", "ratio", "status process ms (worst)", "held", "refused/round", "goal");
            foreach (var c in Configurations)
            {
                table.Add(c.Configuration, Math.Round(c.IdleP99Us), Math.Round(c.AttackP99Us), Math.Round(c.P99Ratio, 2), Math.Round(c.WorstStatusProcessMs),
                    c.Rounds.Max(r => r.HostileHeld), c.Rounds.Max(r => r.Refused), c.Holds ? "holds" : "MISSED");
            }
            table.WriteTo(output);
            foreach (var c in Configurations.Where(c => c.StatusFailure is not null))
            {
                output.WriteLine($"status failed ({c.Configuration}): {c.StatusFailure}");
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
        string bundle = Path.Combine(settings.WorkDirectory, "bundles", "fashion");
        BundleBuilder.Create(bundle, "fashion-cnn", [new VariantSource("a", model)], description: "hostile-load benchmark");
        var configurations = new List<ConfigurationFigures>();
        foreach (bool raised in new[] { false, true })
        {
            var options = new ServerOptions
            {
                RuntimeDirectory = Path.Combine(settings.WorkDirectory, raised ? "run-raised" : "run-default"),
                Bundles = [bundle],
                Workers = settings.Workers,
                IntraOpThreads = 1,
                Adaptive = false,
            };
            if (raised)
            {
                int room = settings.IdleConnections + settings.HalfSentFrames + 64;
                options.MaxConnections = room;
                options.MaxConnectionsPerUser = room;
                options.MaxConnectionsPerProcess = room;
            }
            string name = raised ? "caps raised: every hostile connection held open" : "default protections (per-process and per-user shares)";
            log?.WriteLine($"{name}: {settings.Rounds} rounds ...");
            configurations.Add(await RunConfigurationAsync(name, options, settings, log));
        }
        return new Report(settings.IdleConnections, settings.HalfSentFrames, settings.Requests, settings.Workers, configurations);
    }

    private static async Task<ConfigurationFigures> RunConfigurationAsync(string name, ServerOptions options, Settings settings, TextWriter? log)
    {
        await using var server = new EdgertdServer(options);
        await server.StartAsync();
        // The measuring client connects first: it is an app already served when the attack starts.
        await using var client = new EdgertClient(options.ResolvedSocketPath);
        await client.ConnectAsync();
        var input = new[] { WireTensor.FromArray(SampleModels.FashionCnnInputName, Pixels(), 1, 1, 28, 28) };
        for (int i = 0; i < 300; i++)
        {
            await client.InferAsync(input);
        }
        var rounds = new List<RoundFigures>();
        var idleAll = new List<double>();
        var attackAll = new List<double>();
        string? statusFailure = null;
        for (int round = 1; round <= settings.Rounds; round++)
        {
            var idle = await MeasureAsync(client, input, settings.Requests);
            long refusedBefore = (await client.StatusAsync()).Server.ConnectionsRefused;
            var hostile = OpenHostile(options.ResolvedSocketPath, settings.IdleConnections, settings.HalfSentFrames);
            try
            {
                // Let the daemon accept (or refuse) the whole flood before measuring.
                await Task.Delay(300);
                var (statusMs, answered, failure) = await StatusFromAnotherProcessAsync(settings.StatusCommand, options.ResolvedSocketPath);
                statusFailure ??= failure;
                var attack = await MeasureAsync(client, input, settings.Requests);
                var status = await client.StatusAsync();
                int held = status.Server.Connections - 1;
                long refused = status.Server.ConnectionsRefused - refusedBefore;
                idleAll.AddRange(idle);
                attackAll.AddRange(attack);
                var figures = new RoundFigures(round, P(idle, 0.5), P(idle, 0.99), P(attack, 0.5), P(attack, 0.99), statusMs, answered, held, refused);
                rounds.Add(figures);
                log?.WriteLine($"  round {round}: idle p99 {figures.IdleP99Us:0} us, under attack p99 {figures.AttackP99Us:0} us, status process {statusMs:0} ms{(answered ? "" : " (FAILED)")}, " +
                    $"{held} hostile connections held, {refused} refused");
            }
            finally
            {
                foreach (var socket in hostile)
                {
                    socket.Dispose();
                }
            }
            // The daemon notices the closes; wait until it holds only the measuring client again.
            for (int wait = 0; wait < 100 && (await client.StatusAsync()).Server.Connections > 1; wait++)
            {
                await Task.Delay(20);
            }
        }
        double idleP99 = P(idleAll, 0.99), attackP99 = P(attackAll, 0.99);
        return new ConfigurationFigures(name, rounds, idleP99, attackP99, attackP99 / idleP99, rounds.Max(r => r.StatusProcessMs), rounds.All(r => r.StatusAnswered), statusFailure);
    }

    /// <summary>Connections that send nothing, and connections that announce a 1000-byte frame and send 10 bytes of it.</summary>
    private static List<Socket> OpenHostile(string path, int idle, int halfSent)
    {
        var sockets = new List<Socket>();
        Span<byte> partial = stackalloc byte[14];
        BinaryPrimitives.WriteUInt32BigEndian(partial, 1000);
        for (int i = 0; i < idle + halfSent; i++)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            sockets.Add(socket);
            if (i >= idle)
            {
                try
                {
                    socket.Send(partial);
                }
                catch (SocketException)
                {
                    // Refused and closed by the daemon already: still part of the attempt.
                }
            }
        }
        return sockets;
    }

    private static async Task<(double Ms, bool Answered, string? Failure)> StatusFromAnotherProcessAsync(IReadOnlyList<string> command, string socket)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        start.ArgumentList.Add("--socket");
        start.ArgumentList.Add(socket);
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            return (stopwatch.Elapsed.TotalMilliseconds, false, "edgert status did not finish within 30 s");
        }
        double ms = stopwatch.Elapsed.TotalMilliseconds;
        bool answered = process.ExitCode == 0 && (await output).StartsWith("edgertd ", StringComparison.Ordinal);
        return (ms, answered, answered ? null : $"exit {process.ExitCode}: {(await error).Trim()}");
    }

    private static async Task<List<double>> MeasureAsync(EdgertClient client, WireTensor[] input, int count)
    {
        var micros = new List<double>(count);
        for (int i = 0; i < count; i++)
        {
            long started = Stopwatch.GetTimestamp();
            await client.InferAsync(input);
            micros.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        }
        return micros;
    }

    private static double P(List<double> values, double fraction) => LatencyTracker.Percentile([.. values.Order()], fraction);

    private static float[] Pixels()
    {
        var random = new Random(11);
        var pixels = new float[28 * 28];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)random.NextDouble();
        }
        return pixels;
    }
}
