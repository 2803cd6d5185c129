using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using DuckDB.NET.Data;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>
/// Staged rollout of a bundle to the devices of a class. The devices (known from their telemetry in the fleet
/// database) are put in a stable random order and split into cumulative stages; each stage's devices get a
/// per-device desired state. The next stage starts only when every device of the stages so far has an outcome
/// (passed probation, or refused / rolled back / timed out). Once failed devices exceed the allowed share of the
/// devices given the bundle, the rollout halts and every device given the bundle is sent back to its previous
/// version. Everything the controller decides is kept in the fleet database, which it opens only for each step,
/// so <c>pause</c>, <c>resume</c> and <c>abort</c> from another process get in between.
/// </summary>
public sealed class RolloutController
{
    private readonly string _database;
    private readonly MqttSession _session;
    private readonly RolloutOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _statusHead;
    private readonly ConcurrentDictionary<string, DeploymentReport> _reports = new();
    private readonly Lock _databaseGate = new();

    public RolloutController(string databasePath, MqttSession session, RolloutOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        _database = databasePath;
        _session = session;
        _options = options ?? new RolloutOptions();
        _options.Validate();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _statusHead = UplinkTopics.DeploymentStatus(_options.TopicPrefix, "");
        _session.MessageReceived += OnMessageAsync;
    }

    /// <summary>The latest deployment report of each device heard from.</summary>
    public IReadOnlyDictionary<string, DeploymentReport> Reports => _reports;

    /// <summary>Subscribes to every device's (retained) deployment status; waits <paramref name="settle"/> for the retained ones to arrive.</summary>
    public async Task ListenAsync(TimeSpan settle, CancellationToken cancellationToken)
    {
        await _session.SubscribeAsync(UplinkTopics.AllDeploymentStatus(_options.TopicPrefix), cancellationToken).ConfigureAwait(false);
        if (settle > TimeSpan.Zero)
        {
            await Task.Delay(settle, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (!message.Topic.StartsWith(_statusHead, StringComparison.Ordinal) || message.Payload.Length == 0)
        {
            return Task.CompletedTask;
        }
        if (DeploymentReport.TryParse(message.Payload.ToArray()) is not { } report || report.DeviceId != message.Topic[_statusHead.Length..])
        {
            _logger.LogWarning("Ignored a deployment status on {Topic} that is not a report of that device", message.Topic);
            return Task.CompletedTask;
        }
        _reports.AddOrUpdate(report.DeviceId, report, (_, known) => report.AtUnixMs >= known.AtUnixMs ? report : known);
        return Task.CompletedTask;
    }

    /// <summary>Creates the rollout, publishes the archive's chunks and gives the first stage its desired state.</summary>
    /// <exception cref="ArgumentException">An invalid plan, or no devices of the class in the fleet database.</exception>
    /// <exception cref="ArgumentException">Also: another rollout for the class is still running or paused.</exception>
    public async Task<Rollout> StartAsync(RolloutPlan plan, CancellationToken cancellationToken)
    {
        plan.Validate();
        var now = _time.GetUtcNow();
        string id = string.Create(CultureInfo.InvariantCulture, $"{plan.BundleName}-{plan.Version}-{now:yyyyMMdd'T'HHmmss}");
        var desired = BundleDelivery.Describe(plan.BundleName, plan.Version, plan.ArchivePath, plan.ChunkSize, id);
        var devices = WithStore(store =>
        {
            RolloutStore.EnsureTables(store);
            if (ActiveRollout(store, plan.DeviceClass) is string active)
            {
                throw new ArgumentException($"rollout {active} for class '{plan.DeviceClass}' is still running or paused; abort it or let it finish first");
            }
            if (RolloutStore.Ids(store).Contains(id))
            {
                throw new ArgumentException($"rollout {id} exists already; start it again in a second");
            }
            var known = RolloutStore.DevicesOfClass(store, plan.DeviceClass);
            if (known.Count == 0)
            {
                throw new ArgumentException($"rollout: the fleet database '{_database}' knows no device of class '{plan.DeviceClass}' (devices are known from their telemetry: run 'edgert fleet ingest' first)");
            }
            return known;
        });
        // The bytes first: a rollout the database holds always has its archive on the broker.
        await BundleDelivery.PublishChunksAsync(_session, _options.TopicPrefix, desired, plan.ArchivePath, cancellationToken).ConfigureAwait(false);
        var sizes = plan.StageSizes(devices.Count);
        var ordered = devices.OrderBy(d => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(id + "/" + d))), StringComparer.Ordinal).ToList();
        var rollout = new Rollout
        {
            Id = id,
            Plan = plan with { ArchivePath = Path.GetFullPath(plan.ArchivePath) },
            Desired = desired,
            State = RolloutState.Running,
            CurrentStage = 0,
            CreatedUnixMs = now.ToUnixTimeMilliseconds(),
            UpdatedUnixMs = now.ToUnixTimeMilliseconds(),
            Stages = sizes.Select((size, i) => new RolloutStage { Index = i, Share = plan.Stages[i], Devices = size }).ToList(),
            Devices = ordered.Select((device, position) => new RolloutDevice
            {
                DeviceId = device,
                Stage = sizes.Select((size, i) => (size, i)).First(s => position < s.size).i,
                PreviousVersion = _reports.GetValueOrDefault(device)?.ActiveVersion,
            }).ToList(),
        };
        WithStore(store =>
        {
            RolloutStore.Insert(store, rollout);
            return 0;
        });
        _logger.LogInformation("Rollout {Id}: {Bundle} to {Devices} devices of {Class} in stages of {Sizes}", id, desired, rollout.Devices.Count, plan.DeviceClass,
            string.Join(", ", rollout.Stages.Select(s => s.Devices)));
        return await TickAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Steps the rollout until it completes, or halts (or is aborted) and every device is back (or <see cref="RolloutOptions.RevertTimeout"/> passed).</summary>
    public async Task<Rollout> RunAsync(string id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var rollout = await TickAsync(id, cancellationToken).ConfigureAwait(false);
            if (rollout.State == RolloutState.Completed)
            {
                return rollout;
            }
            if (rollout.RollsBack && (rollout.Devices.Where(d => d.Assigned).All(d => d.Reverted)
                || _time.GetUtcNow().ToUnixTimeMilliseconds() - rollout.HaltedUnixMs > (long)_options.RevertTimeout.TotalMilliseconds))
            {
                // Every device was told to go back: the broker need not keep the bundle nobody should fetch.
                await BundleDelivery.ClearChunksAsync(_session, _options.TopicPrefix, rollout.Desired, cancellationToken).ConfigureAwait(false);
                return rollout;
            }
            await Task.Delay(_options.TickInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One look at the device reports and one decision: record outcomes, halt, advance, or complete.</summary>
    public async Task<Rollout> TickAsync(string id, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var sends = new List<(string Device, DesiredBundle? Desired)>();
        bool completed = false;
        var rollout = WithStore(store =>
        {
            var rollout = RolloutStore.Load(store, id) ?? throw new ArgumentException($"no rollout '{id}' in '{_database}'");
            Record(rollout, now);
            if (rollout.State is RolloutState.Running or RolloutState.Paused)
            {
                Decide(rollout, now, sends, out completed);
            }
            if (rollout.RollsBack)
            {
                SendBack(rollout, sends);
            }
            rollout.UpdatedUnixMs = now;
            return rollout;
        });
        // Sent before the state is saved: a crash in between sends them again on the next step (retained, idempotent).
        foreach (var (device, desired) in sends)
        {
            await BundleDelivery.PublishDesiredAsync(_session, _options.TopicPrefix, rollout.Plan.DeviceClass, device, desired, cancellationToken).ConfigureAwait(false);
        }
        if (completed)
        {
            // Devices that join the class later take it from here.
            await BundleDelivery.PublishClassDesiredAsync(_session, _options.TopicPrefix, rollout.Plan.DeviceClass, rollout.Desired with { RolloutId = rollout.Id }, cancellationToken)
                .ConfigureAwait(false);
        }
        WithStore(store =>
        {
            // The state column may have been changed by pause/resume/abort since the load; those win.
            var current = RolloutStore.Load(store, id)!;
            if (current.State != rollout.State && !rollout.IsFinished)
            {
                rollout.State = current.State;
                rollout.Reason = current.Reason ?? rollout.Reason;
                rollout.HaltedUnixMs = current.HaltedUnixMs;
                rollout.FinishedUnixMs = current.FinishedUnixMs;
            }
            RolloutStore.Save(store, rollout);
            return 0;
        });
        return rollout;
    }

    /// <summary>Sets the state of a rollout from another process (or this one): running ⇄ paused.</summary>
    public static Rollout SetPaused(string databasePath, string? id, bool paused, TimeProvider? time = null)
    {
        using var store = FleetStore.Open(databasePath);
        var rollout = Find(store, databasePath, id);
        var (from, to) = paused ? (RolloutState.Running, RolloutState.Paused) : (RolloutState.Paused, RolloutState.Running);
        if (rollout.State != from)
        {
            throw new ArgumentException($"rollout {rollout.Id} is {RolloutStore.Name(rollout.State)}; only a {RolloutStore.Name(from)} one can be {(paused ? "paused" : "resumed")}");
        }
        RolloutStore.SetState(store, rollout.Id, to, null, (time ?? TimeProvider.System).GetUtcNow().ToUnixTimeMilliseconds());
        rollout.State = to;
        return rollout;
    }

    /// <summary>Stops a running or paused rollout and sends every device given the bundle back to its previous version.</summary>
    public async Task<Rollout> AbortAsync(string? id, string reason, CancellationToken cancellationToken)
    {
        string resolved = WithStore(store =>
        {
            var rollout = Find(store, _database, id);
            if (rollout.IsFinished)
            {
                throw new ArgumentException($"rollout {rollout.Id} is {RolloutStore.Name(rollout.State)} already");
            }
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            rollout.State = RolloutState.Aborted;
            rollout.Reason = $"aborted: {reason}";
            rollout.HaltedUnixMs = now;
            rollout.FinishedUnixMs = now;
            RolloutStore.Save(store, rollout);
            return rollout.Id;
        });
        return await TickAsync(resolved, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every rollout (newest first), or the one named.</summary>
    public static IReadOnlyList<Rollout> Status(string databasePath, string? id)
    {
        using var store = FleetStore.Open(databasePath);
        return id is null ? RolloutStore.Ids(store).Select(i => RolloutStore.Load(store, i)!).ToList() : [Find(store, databasePath, id)];
    }

    private static Rollout Find(FleetStore store, string databasePath, string? id)
    {
        string? resolved = id ?? RolloutStore.Ids(store).FirstOrDefault();
        return (resolved is null ? null : RolloutStore.Load(store, resolved))
            ?? throw new ArgumentException(id is null ? $"no rollout in '{databasePath}'" : $"no rollout '{id}' in '{databasePath}'");
    }

    private static string? ActiveRollout(FleetStore store, string deviceClass)
    {
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT id FROM rollouts WHERE device_class = $class AND state IN ('running', 'paused') LIMIT 1";
        command.Parameters.Add(new DuckDBParameter("class", deviceClass));
        return command.ExecuteScalar() as string;
    }

    /// <summary>What the devices reported since the last step.</summary>
    private void Record(Rollout rollout, long now)
    {
        string version = rollout.Plan.Version;
        foreach (var device in rollout.Devices.Where(d => d.Assigned))
        {
            if (!_reports.TryGetValue(device.DeviceId, out var report) || report.RolloutId != rollout.Id)
            {
                continue;
            }
            device.ActiveVersion = report.ActiveVersion;
            if (report.Version == version)
            {
                device.State = Name(report.State);
                device.DownloadMs = report.DownloadMs ?? device.DownloadMs;
                device.ProbationMs = report.ProbationMs ?? device.ProbationMs;
                if (report.Figures?.TryGetValue("latency_ratio", out double ratio) == true)
                {
                    device.LatencyRatio = ratio;
                }
                if (device.Outcome is null && report.IsFinal)
                {
                    bool passed = report.State == DeviceDeploymentState.Committed;
                    device.Outcome = passed ? "passed" : "failed";
                    device.ReasonCode = report.ReasonCode;
                    device.Reason = report.Reason;
                    device.FinishedUnixMs = now;
                    if (!passed)
                    {
                        _logger.LogWarning("Rollout {Id}: {Device} failed ({Code}): {Reason}", rollout.Id, device.DeviceId, report.ReasonCode, report.Reason);
                    }
                }
                if (report.ActiveVersion == version && report.PreviousVersion is not null)
                {
                    device.PreviousVersion = report.PreviousVersion;
                }
            }
            if (rollout.RollsBack && device.RevertTo is not null && !device.Reverted && report.ActiveVersion == device.RevertTo && report.IsFinal)
            {
                device.Reverted = true;
                device.RevertedUnixMs = now;
                device.State = Name(report.State);
            }
        }
        foreach (var device in rollout.Devices.Where(d => d.Assigned && d.Outcome is null))
        {
            if (now - device.AssignedUnixMs > (long)rollout.Plan.StageTimeout.TotalMilliseconds)
            {
                device.Outcome = "failed";
                device.ReasonCode = "timed-out";
                device.Reason = $"no outcome within {rollout.Plan.StageTimeout.TotalMinutes:F0} min (last state: {device.State ?? "none"})";
                device.FinishedUnixMs = now;
            }
        }
    }

    private void Decide(Rollout rollout, long now, List<(string, DesiredBundle?)> sends, out bool completed)
    {
        completed = false;
        var assigned = rollout.Devices.Where(d => d.Assigned).ToList();
        int failed = assigned.Count(d => d.Outcome == "failed");
        if (assigned.Count > 0 && failed > rollout.Plan.MaxFailure * assigned.Count)
        {
            var codes = assigned.Where(d => d.Outcome == "failed").GroupBy(d => d.ReasonCode ?? "?").Select(g => $"{g.Count()} {g.Key}");
            rollout.State = RolloutState.Halted;
            rollout.HaltedUnixMs = now;
            rollout.FinishedUnixMs = now;
            rollout.Reason = $"stage {rollout.CurrentStage + 1}: {failed} of {assigned.Count} devices failed ({string.Join(", ", codes)}), more than {RolloutPlan.FormatPercent(rollout.Plan.MaxFailure)}";
            rollout.Stages[rollout.CurrentStage].FinishedUnixMs ??= now;
            _logger.LogWarning("Rollout {Id} halted: {Reason}; sending every device given the bundle back", rollout.Id, rollout.Reason);
            return;
        }
        var stage = rollout.Stages[rollout.CurrentStage];
        if (stage.StartedUnixMs is null)
        {
            if (rollout.State == RolloutState.Running)
            {
                StartStage(rollout, stage, now, sends);
            }
            return;
        }
        if (rollout.State != RolloutState.Running || assigned.Any(d => d.Outcome is null))
        {
            return;
        }
        stage.FinishedUnixMs = now;
        _logger.LogInformation("Rollout {Id}: stage {Stage} passed ({Passed} of {Devices} devices)", rollout.Id, stage.Index + 1, assigned.Count - failed, assigned.Count);
        if (rollout.CurrentStage + 1 < rollout.Stages.Count)
        {
            rollout.CurrentStage++;
            StartStage(rollout, rollout.Stages[rollout.CurrentStage], now, sends);
            return;
        }
        rollout.State = RolloutState.Completed;
        rollout.FinishedUnixMs = now;
        rollout.Reason = $"{assigned.Count - failed} of {assigned.Count} devices passed";
        completed = true;
    }

    private void StartStage(Rollout rollout, RolloutStage stage, long now, List<(string, DesiredBundle?)> sends)
    {
        stage.StartedUnixMs = now;
        foreach (var device in rollout.Devices.Where(d => d.Stage == stage.Index))
        {
            device.AssignedUnixMs = now;
            device.State = "assigned";
            device.PreviousVersion ??= _reports.GetValueOrDefault(device.DeviceId)?.ActiveVersion;
            sends.Add((device.DeviceId, rollout.Desired));
        }
        _logger.LogInformation("Rollout {Id}: stage {Stage} ({Share}) gives the bundle to {Count} more devices", rollout.Id, stage.Index + 1,
            RolloutPlan.FormatPercent(stage.Share), rollout.Devices.Count(d => d.Stage == stage.Index));
    }

    /// <summary>Each device given the bundle gets, once, the desired state of the version it ran before.</summary>
    private void SendBack(Rollout rollout, List<(string, DesiredBundle?)> sends)
    {
        string version = rollout.Plan.Version;
        // For a device that never said what it ran: what most of the others ran before.
        string? usual = rollout.Devices.Select(d => d.PreviousVersion).Where(v => v is not null && v != version)
            .GroupBy(v => v).OrderByDescending(g => g.Count()).FirstOrDefault()?.Key;
        foreach (var device in rollout.Devices.Where(d => d.Assigned && d.RevertTo is null))
        {
            var report = _reports.GetValueOrDefault(device.DeviceId);
            string? target = report?.ActiveVersion is string active && active != version ? active
                : report?.ActiveVersion == version ? report.PreviousVersion ?? device.PreviousVersion
                : device.PreviousVersion ?? usual;
            if (target is null || target == version)
            {
                // Nothing known to go back to: drop the per-device state, the class's applies again.
                device.RevertTo = "";
                device.Reverted = true;
                sends.Add((device.DeviceId, null));
                continue;
            }
            device.RevertTo = target;
            sends.Add((device.DeviceId, new DesiredBundle { Bundle = rollout.Plan.BundleName, Version = target, RolloutId = rollout.Id, Rollback = true }));
        }
    }

    private static string Name(DeviceDeploymentState state) => System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(state.ToString());

    private T WithStore<T>(Func<FleetStore, T> action)
    {
        lock (_databaseGate)
        {
            using var store = FleetStore.Open(_database);
            return action(store);
        }
    }
}
