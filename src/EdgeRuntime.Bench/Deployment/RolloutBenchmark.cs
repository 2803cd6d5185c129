using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Deployment;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Reporting;
using EdgeRuntime.Uplink;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Bench.Deployment;

/// <summary>One rollout of the run and what it did to the fleet.</summary>
public sealed record RolloutScenario(
    string Fault,
    string Version,
    string State,
    string? Reason,
    int StagesStarted,
    int GivenBundle,
    int Passed,
    int Failed,
    int Reverted,
    IReadOnlyDictionary<string, int> FailuresByReason,
    double Seconds,
    double? HaltedAfterSeconds,
    double? RevertSeconds,
    double? MedianDownloadMs,
    double? MedianProbationMs,
    double? MedianLatencyRatio,
    /// <summary>Devices per active version once the rollout finished (and every device given the bundle was back, for a halt).</summary>
    IReadOnlyDictionary<string, int> ActiveVersions,
    long Requests,
    long FailedRequests,
    /// <summary>Requests that started while a device was swapping versions (activation, probation's rollback, the fleet's rollback).</summary>
    long RequestsDuringSwaps,
    long FailedRequestsDuringSwaps,
    /// <summary>What the first failed device said.</summary>
    string? FirstFailure,
    RolloutSummary Summary);

public sealed record RolloutBenchmarkReport(
    string Machine,
    string LoadAverage,
    int Devices,
    string Stages,
    string MaxFailure,
    double ProbationSeconds,
    double ProvisionSeconds,
    IReadOnlyList<RolloutScenario> Scenarios,
    long Requests,
    long FailedRequests,
    long Swaps,
    long SwapsDuringRequests,
    long RequestsDuringSwaps,
    long FailedRequestsDuringSwaps,
    double RequestIntervalSeconds,
    IReadOnlyList<string> Errors,
    double Seconds)
{
    public void WriteText(TextWriter output)
    {
        var c = CultureInfo.InvariantCulture;
        output.WriteLine($"machine: {Machine}; load average {LoadAverage}");
        output.WriteLine($"{Devices} simulated devices (own store, MQTT session, serving runtime, a request every {RequestIntervalSeconds.ToString(c)} s) through a private Mosquitto; " +
            $"stages {Stages}, max failure {MaxFailure}, probation {ProbationSeconds.ToString("F0", c)} s; provisioned in {ProvisionSeconds.ToString("F1", c)} s");
        var table = new TextTable("bundle", "version", "outcome", "stages", "stage s", "given", "passed", "failed", "back", "halted at s", "all back s", "took s", "download ms", "probation ms", "latency x", "versions after", "failed requests", "during swaps");
        foreach (var s in Scenarios)
        {
            table.Add(s.Fault, s.Version, s.State, s.StagesStarted,
                string.Join("/", s.Summary.StageTable.Where(t => t.Seconds is not null).Select(t => t.Seconds!.Value.ToString("F1", c))), s.GivenBundle, s.Passed, s.Failed, s.Reverted,
                s.HaltedAfterSeconds is double h ? Math.Round(h, 1) : null, s.RevertSeconds is double r ? Math.Round(r, 1) : null, Math.Round(s.Seconds, 1),
                s.MedianDownloadMs is double d ? Math.Round(d) : null, s.MedianProbationMs is double p ? Math.Round(p) : null, s.MedianLatencyRatio is double x ? Math.Round(x, 2) : null,
                string.Join(" ", s.ActiveVersions.OrderBy(v => v.Key, StringComparer.Ordinal).Select(v => $"v{v.Key}:{v.Value}")), $"{s.FailedRequests} of {s.Requests}", $"{s.FailedRequestsDuringSwaps} of {s.RequestsDuringSwaps}");
        }
        table.WriteTo(output);
        foreach (var s in Scenarios.Where(s => s.Reason is not null && s.State != "completed"))
        {
            output.WriteLine($"  {s.Fault}: {s.Reason}; first device: {s.FirstFailure}");
        }
        output.WriteLine($"requests: {FailedRequests} failed of {Requests}, {FailedRequestsDuringSwaps} failed of the {RequestsDuringSwaps} that started during one of {Swaps} hot swaps " +
            $"({SwapsDuringRequests} swaps while a request ran on the replaced version); total {Seconds.ToString("F1", c)} s");
        foreach (string error in Errors)
        {
            output.WriteLine($"  request error: {error}");
        }
    }
}

/// <summary>
/// `edgert fleet bench-rollout`: a simulated fleet on a private Mosquitto takes a good bundle through every stage,
/// then one bad bundle of each kind, each of which must halt in the first stage with every device that took it
/// back on the previous version; requests run on every device throughout.
/// </summary>
public static class RolloutBenchmark
{
    public const string BundleName = "fashion-cnn";

    public sealed record Settings
    {
        public int Devices { get; init; } = 50;
        public string Stages { get; init; } = "5%,25%,100%";
        public string MaxFailure { get; init; } = "2%";
        public IReadOnlyList<BundleFlaw> Faults { get; init; } = [BundleFlaw.CorruptBytes, BundleFlaw.BadSignature, BundleFlaw.OutputsOff, BundleFlaw.Slower];
        /// <summary>Work per inference of the slower bundle relative to the good one (by multiply-accumulates).</summary>
        public double SlowdownFactor { get; init; } = 1.25;
        public TimeSpan ProbationPeriod { get; init; } = TimeSpan.FromSeconds(2);
        /// <summary>Alternating timed runs of new and replaced version in probation: many, since 50 devices share the cores.</summary>
        public int LatencyRounds { get; init; } = 41;
        public int ChunkSize { get; init; } = 64 << 10;
        public string? MosquittoBinary { get; init; }
        /// <summary>A rollout taking longer than this fails the run.</summary>
        public TimeSpan RolloutTimeout { get; init; } = TimeSpan.FromMinutes(10);
    }

    public static async Task<RolloutBenchmarkReport> RunAsync(Settings settings, string workDirectory, Action<string>? log, ILoggerFactory? loggers,
        CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var machine = MachineInfo.Current();
        Directory.CreateDirectory(workDirectory);
        using var broker = await MosquittoBroker.StartAsync(Path.Combine(workDirectory, "broker"), binary: settings.MosquittoBinary, saveEveryChange: false,
            cancellationToken: cancellationToken);
        var bundles = new BundleFactory(Path.Combine(workDirectory, "publisher")) { SlowdownFactor = settings.SlowdownFactor };
        string first = bundles.MakeArchive(BundleName, 1);
        var fleetOptions = new SimulatedFleetOptions
        {
            Devices = settings.Devices,
            BundleName = BundleName,
            TrustedKeysDirectory = bundles.TrustedDirectory,
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "edgert-sim", BackoffMin = TimeSpan.FromMilliseconds(100), BackoffMax = TimeSpan.FromSeconds(2) },
            Probation = new ProbationOptions { Period = settings.ProbationPeriod, LatencyRounds = settings.LatencyRounds },
        };
        log?.Invoke($"provisioning {settings.Devices} devices with {BundleName} v1 ...");
        var provision = Stopwatch.StartNew();
        await using var fleet = await SimulatedDeploymentFleet.StartAsync(fleetOptions, Path.Combine(workDirectory, "devices"), "1", first, loggers, cancellationToken);
        double provisionSeconds = provision.Elapsed.TotalSeconds;
        string database = Path.Combine(workDirectory, "fleet.duckdb");
        fleet.Announce(database, DateTimeOffset.UtcNow);

        await using var session = await FleetConnection.ConnectAsync(fleetOptions.Broker.WithClientId("edgert-rollout-bench"), cancellationToken);
        var controller = new RolloutController(database, session, new RolloutOptions { TickInterval = TimeSpan.FromMilliseconds(250), RevertTimeout = settings.RolloutTimeout },
            logger: loggers?.CreateLogger<RolloutController>());
        await controller.ListenAsync(TimeSpan.FromSeconds(1), cancellationToken);

        var scenarios = new List<RolloutScenario>();
        long version = 2;
        foreach (var fault in new[] { BundleFlaw.None }.Concat(settings.Faults))
        {
            string archive = bundles.MakeArchive(BundleName, version, fault);
            var plan = new RolloutRequest
            {
                Bundle = archive,
                DeviceClass = fleetOptions.DeviceClass,
                Stages = settings.Stages,
                MaxFailure = settings.MaxFailure,
                ChunkSize = settings.ChunkSize,
                StageTimeout = settings.RolloutTimeout,
            }.ToPlan(BundleName, version.ToString(CultureInfo.InvariantCulture), archive);
            log?.Invoke($"rollout of v{version} ({fault}) ...");
            var before = fleet.Tally();
            var started = await controller.StartAsync(plan, cancellationToken);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(settings.RolloutTimeout);
            Rollout finished;
            try
            {
                finished = await controller.RunAsync(started.Id, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"rollout {started.Id} did not finish within {settings.RolloutTimeout}");
            }
            var after = fleet.Tally();
            var summary = RolloutSummary.From(finished, DateTimeOffset.UtcNow);
            var versions = fleet.ActiveVersions().GroupBy(p => p.Value ?? "none").ToDictionary(g => g.Key, g => g.Count());
            scenarios.Add(new RolloutScenario(fault.ToString(), plan.Version, summary.State, summary.Reason, finished.Stages.Count(s => s.StartedUnixMs is not null),
                summary.GivenBundle, summary.Passed, summary.Failed, summary.Reverted, summary.FailuresByReason, summary.Seconds, summary.HaltedAfterSeconds,
                summary.RevertSeconds, summary.MedianDownloadMs, summary.MedianProbationMs, summary.MedianLatencyRatio, versions, after.Requests - before.Requests, after.Failures - before.Failures,
                after.RequestsDuringSwaps - before.RequestsDuringSwaps, after.FailuresDuringSwaps - before.FailuresDuringSwaps,
                summary.DeviceTable.FirstOrDefault(d => d.Outcome == "failed")?.Reason, summary));
            log?.Invoke($"  {summary.State} after {summary.Seconds:F1} s: {summary.Passed} passed, {summary.Failed} failed, versions now {string.Join(" ", versions.Select(v => $"v{v.Key}:{v.Value}"))}");
            version++;
        }
        var tally = fleet.Tally();
        return new RolloutBenchmarkReport(machine.ToString(), LoadAverage(), settings.Devices, settings.Stages, settings.MaxFailure, settings.ProbationPeriod.TotalSeconds,
            provisionSeconds, scenarios, tally.Requests, tally.Failures, tally.Swaps, tally.SwapsDuringRequests, tally.RequestsDuringSwaps, tally.FailuresDuringSwaps,
            fleetOptions.RequestInterval.TotalSeconds, tally.Errors, total.Elapsed.TotalSeconds);
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
