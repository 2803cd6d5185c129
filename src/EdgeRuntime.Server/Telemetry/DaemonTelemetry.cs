using EdgeRuntime.Devices;
using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Server.Models;
using EdgeRuntime.Telemetry;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Telemetry;

/// <summary>
/// The daemon's telemetry log: every variant switch with its reason as it happens, and each interval one
/// inference summary per variant that served (requests, failures, p95, the clock and temperature it ran at),
/// the sensor readings, and an error record when governor ticks failed. Writing never blocks serving: a full
/// queue drops the record and counts it.
/// </summary>
internal sealed class DaemonTelemetry : IAsyncDisposable
{
    private readonly GovernorLoop _governance;
    private readonly IReadOnlyList<ModelHost> _models;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IDisposable _events;
    private readonly ITimer _timer;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Model, string Variant), (long Count, long Failures)> _seen = [];
    private long _lastSampleAt;
    private TimeSpan _lastCpu = EdgeRuntime.Inference.CpuClock.Process();
    private long _tickFailures;
    private long _lostReported;

    private DaemonTelemetry(TelemetryLog log, GovernorLoop governance, IReadOnlyList<ModelHost> models, EventHub events, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        Log = log;
        _governance = governance;
        _models = models;
        _time = time;
        _logger = logger;
        _lastSampleAt = time.GetTimestamp();
        _lostReported = log.LostTotal;
        foreach (var model in models)
        {
            // Counts before the log opened are not this log's to report.
            Remember(model);
        }
        _events = events.Subscribe(OnEvent);
        _timer = time.CreateTimer(_ => SampleAndSync(), null, interval, interval);
    }

    public TelemetryLog Log { get; }

    public static DaemonTelemetry Start(ServerOptions options, GovernorLoop governance, IReadOnlyList<ModelHost> models, EventHub events, TimeProvider time, ILoggerFactory loggers,
        (Func<string, Stream> CreateSegment, TimeSpan RetryInterval)? storage = null)
    {
        var logOptions = new TelemetryLogOptions
        {
            Directory = Path.GetFullPath(options.TelemetryDirectory!),
            DeviceId = options.ResolvedDeviceId,
            DeviceClass = governance.Board.Id,
        };
        if (storage is { } custom)
        {
            logOptions = logOptions with { RetryInterval = custom.RetryInterval };
        }
        var log = TelemetryLog.Open(logOptions, time, loggers.CreateLogger<TelemetryLog>(), storage?.CreateSegment);
        var logger = loggers.CreateLogger<DaemonTelemetry>();
        logger.LogInformation("Telemetry log in {Directory} as device {Device} ({Class}), samples every {Interval} s",
            log.Options.Directory, log.Options.DeviceId, log.Options.DeviceClass, options.TelemetryIntervalSeconds);
        return new DaemonTelemetry(log, governance, models, events, TimeSpan.FromSeconds(options.TelemetryIntervalSeconds), time, logger);
    }

    private void OnEvent(DaemonEvent daemonEvent)
    {
        if (daemonEvent is not VariantSwitched change)
        {
            return;
        }
        double? celsius = _governance.LastSnapshot?.HottestCelsius.TryGetValue(out double c) == true ? c : null;
        Log.TryWrite(TelemetryRecord.For(new SwitchRecord
        {
            From = change.From,
            To = change.To,
            // The governor's reason code when it switched; a client's pin or a plain switch otherwise.
            Reason = change.Code ?? "Manual",
            Detail = $"{change.ModelName}: {change.Reason}",
            Celsius = celsius,
        }));
    }

    private void SampleAndSync()
    {
        Sample();
        // The log syncs on its own only while records keep coming; the uplink sends only synced records, so a quiet
        // daemon's last records would wait for the next one. Once per interval is little wear.
        if (Log.LastSequence > Log.DurableSequence)
        {
            _ = Log.FlushAsync().ContinueWith(t => _logger.LogWarning("Syncing the telemetry log failed: {Reason}", t.Exception?.GetBaseException().Message),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>Writes one interval's summaries and samples; the timer calls it, tests may too.</summary>
    public void Sample()
    {
        lock (_gate)
        {
            long now = _time.GetTimestamp();
            double window = _time.GetElapsedTime(_lastSampleAt, now).TotalSeconds;
            _lastSampleAt = now;
            var snapshot = _governance.LastSnapshot;
            double? mhz = snapshot?.CpuMhz.TryGetValue(out double f) == true ? f : null;
            double? celsius = snapshot?.HottestCelsius.TryGetValue(out double c) == true ? c : null;
            double? watts = Power(snapshot);
            var summaries = new List<InferenceSummary>();
            foreach (var model in _models)
            {
                ModelReport report;
                try
                {
                    report = model.Report();
                }
                catch (RefusedException)
                {
                    continue; // Closing.
                }
                foreach (var variant in report.Variants)
                {
                    var key = (model.Name, variant.Id);
                    var (count, failures) = _seen.GetValueOrDefault(key);
                    _seen[key] = (variant.Latency.TotalCount, variant.Latency.Failures);
                    long served = variant.Latency.TotalCount - count, failed = variant.Latency.Failures - failures;
                    if (served <= 0 && failed <= 0)
                    {
                        continue;
                    }
                    summaries.Add(new InferenceSummary
                    {
                        Variant = _models.Count == 1 ? variant.Id : $"{model.Name}/{variant.Id}",
                        WindowSeconds = window,
                        Count = Math.Max(served, 0),
                        P95Ms = double.IsNaN(variant.Latency.P95Ms) ? 0 : variant.Latency.P95Ms,
                        FrequencyMhz = mhz,
                        Celsius = celsius,
                        PowerWatts = watts,
                        Errors = Math.Max(failed, 0),
                        Knobs = report.Knobs.Code,
                    });
                }
            }
            // The process's CPU over the window, shared over its inferences: what energy per inference is fitted from.
            var cpu = EdgeRuntime.Inference.CpuClock.Process();
            long inferences = summaries.Sum(s => s.Count);
            double? cpuMsPerInference = inferences > 0 ? (cpu - _lastCpu).TotalMilliseconds / inferences : null;
            _lastCpu = cpu;
            foreach (var summary in summaries)
            {
                summary.CpuMsPerInference = cpuMsPerInference;
                Log.TryWrite(TelemetryRecord.For(summary));
            }
            if (snapshot is not null)
            {
                foreach (var (name, value) in SensorReadout.Sensors(snapshot))
                {
                    Log.TryWrite(TelemetryRecord.For(new SensorSample { Name = name, Value = value, Unit = UnitOf(name) }));
                }
            }
            // What the log itself lost goes up with the records, so the fleet sees gaps it would otherwise take for quiet.
            long lost = Log.LostTotal;
            if (lost > 0)
            {
                Log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "telemetry/lost_records", Value = lost, Unit = "records" }));
            }
            if (lost > _lostReported)
            {
                Log.TryWrite(TelemetryRecord.For(new TelemetryError
                {
                    Source = "telemetry",
                    Message = $"{lost - _lostReported} record(s) lost since the last report, {lost} in all{(Log.LastError is string error ? $" (last error: {error})" : "")}",
                }));
                _lostReported = lost;
            }
            var governor = _governance.Report();
            if (governor.TickFailures > _tickFailures)
            {
                Log.TryWrite(TelemetryRecord.For(new TelemetryError
                {
                    Source = "governor",
                    Message = $"{governor.TickFailures - _tickFailures} tick(s) failed: {governor.LastError}",
                }));
                _tickFailures = governor.TickFailures;
            }
        }
    }

    private void Remember(ModelHost model)
    {
        foreach (var variant in model.Report().Variants)
        {
            _seen[(model.Name, variant.Id)] = (variant.Latency.TotalCount, variant.Latency.Failures);
        }
    }

    private static double? Power(DeviceSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return null;
        }
        double total = 0;
        bool any = false;
        foreach (var rail in snapshot.PowerRails)
        {
            if (rail.Watts.TryGetValue(out double w))
            {
                total += w;
                any = true;
            }
        }
        if (!any && snapshot.Battery is { } battery && battery.Watts.TryGetValue(out double b))
        {
            return b;
        }
        return any ? total : null;
    }

    private static string UnitOf(string name) =>
        name.EndsWith("_c", StringComparison.Ordinal) ? "C"
        : name.EndsWith("_mhz", StringComparison.Ordinal) ? "MHz"
        : name.EndsWith("_w", StringComparison.Ordinal) || name.EndsWith("/watts", StringComparison.Ordinal) ? "W"
        : name.EndsWith("percent", StringComparison.Ordinal) ? "%"
        : name.EndsWith("_bytes", StringComparison.Ordinal) ? "B"
        : "";

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync().ConfigureAwait(false);
        _events.Dispose();
        // The last partial interval, so a stop does not lose it.
        Sample();
        await Log.DisposeAsync().ConfigureAwait(false);
    }
}
