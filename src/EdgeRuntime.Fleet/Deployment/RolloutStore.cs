using System.Text.Json;
using DuckDB.NET.Data;
using EdgeRuntime.Uplink.Deployment;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>One device of a rollout as the fleet database keeps it.</summary>
public sealed class RolloutDevice
{
    public required string DeviceId { get; init; }
    /// <summary>The stage that gives it the bundle (0-based).</summary>
    public required int Stage { get; init; }
    /// <summary>Null until its stage starts; then the last state the device reported for this rollout ("assigned" before any).</summary>
    public string? State { get; set; }
    /// <summary>"passed", "failed" or null while undecided.</summary>
    public string? Outcome { get; set; }
    public string? ReasonCode { get; set; }
    public string? Reason { get; set; }
    public string? ActiveVersion { get; set; }
    public string? PreviousVersion { get; set; }
    /// <summary>After a halt: the version it was sent back to, and whether it reported running it.</summary>
    public string? RevertTo { get; set; }
    public bool Reverted { get; set; }
    public long? AssignedUnixMs { get; set; }
    public long? FinishedUnixMs { get; set; }
    public long? RevertedUnixMs { get; set; }
    public double? DownloadMs { get; set; }
    public double? ProbationMs { get; set; }
    /// <summary>Probation's latency of the new version over the replaced one, on this device.</summary>
    public double? LatencyRatio { get; set; }

    public bool Assigned => AssignedUnixMs is not null;
}

public sealed class RolloutStage
{
    public required int Index { get; init; }
    public required double Share { get; init; }
    /// <summary>Devices holding the bundle once this stage started (cumulative).</summary>
    public required int Devices { get; init; }
    public long? StartedUnixMs { get; set; }
    public long? FinishedUnixMs { get; set; }
}

/// <summary>A rollout and its stages and devices, as loaded from (and saved to) the fleet database.</summary>
public sealed class Rollout
{
    public required string Id { get; init; }
    public required RolloutPlan Plan { get; init; }
    public required DesiredBundle Desired { get; init; }
    public RolloutState State { get; set; }
    public int CurrentStage { get; set; }
    public string? Reason { get; set; }
    public long CreatedUnixMs { get; init; }
    public long UpdatedUnixMs { get; set; }
    public long? HaltedUnixMs { get; set; }
    public long? FinishedUnixMs { get; set; }
    public required List<RolloutStage> Stages { get; init; }
    public required List<RolloutDevice> Devices { get; init; }

    public bool IsFinished => State is RolloutState.Completed or RolloutState.Halted or RolloutState.Aborted;
    public bool RollsBack => State is RolloutState.Halted or RolloutState.Aborted;
}

/// <summary>Rollout state in the fleet DuckDB database, beside the telemetry it picks devices from.</summary>
internal static class RolloutStore
{
    private const string Tables = """
        CREATE TABLE IF NOT EXISTS rollouts (id VARCHAR PRIMARY KEY, bundle VARCHAR NOT NULL, version VARCHAR NOT NULL, device_class VARCHAR NOT NULL,
          archive VARCHAR NOT NULL, desired VARCHAR NOT NULL, stages VARCHAR NOT NULL, max_failure DOUBLE NOT NULL, min_devices INTEGER NOT NULL,
          stage_timeout_s DOUBLE NOT NULL, state VARCHAR NOT NULL, current_stage INTEGER NOT NULL, reason VARCHAR,
          created_unix_ms BIGINT NOT NULL, updated_unix_ms BIGINT NOT NULL, halted_unix_ms BIGINT, finished_unix_ms BIGINT);
        CREATE TABLE IF NOT EXISTS rollout_stages (rollout_id VARCHAR NOT NULL, stage INTEGER NOT NULL, share DOUBLE NOT NULL, devices INTEGER NOT NULL,
          started_unix_ms BIGINT, finished_unix_ms BIGINT, PRIMARY KEY (rollout_id, stage));
        CREATE TABLE IF NOT EXISTS rollout_devices (rollout_id VARCHAR NOT NULL, device_id VARCHAR NOT NULL, stage INTEGER NOT NULL, state VARCHAR,
          outcome VARCHAR, reason_code VARCHAR, reason VARCHAR, active_version VARCHAR, previous_version VARCHAR, revert_to VARCHAR, reverted BOOLEAN NOT NULL,
          assigned_unix_ms BIGINT, finished_unix_ms BIGINT, reverted_unix_ms BIGINT, download_ms DOUBLE, probation_ms DOUBLE, latency_ratio DOUBLE,
          PRIMARY KEY (rollout_id, device_id));
        """;

    public static void EnsureTables(FleetStore store) => store.Execute(Tables);

    /// <summary>Devices of a class the fleet has heard from (its telemetry), in id order.</summary>
    public static List<string> DevicesOfClass(FleetStore store, string deviceClass)
    {
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT device_id FROM records WHERE device_class = $class ORDER BY device_id";
        command.Parameters.Add(new DuckDBParameter("class", deviceClass));
        using var reader = command.ExecuteReader();
        var devices = new List<string>();
        while (reader.Read())
        {
            devices.Add(reader.GetString(0));
        }
        return devices;
    }

    public static void Insert(FleetStore store, Rollout rollout)
    {
        EnsureTables(store);
        Run(store, """
            INSERT INTO rollouts VALUES ($id, $bundle, $version, $class, $archive, $desired, $stages, $max_failure, $min_devices, $timeout, $state, $stage, $reason,
              $created, $updated, $halted, $finished)
            """, Parameters(rollout));
        foreach (var stage in rollout.Stages)
        {
            Run(store, "INSERT INTO rollout_stages VALUES ($id, $stage, $share, $devices, $started, $finished)",
                [new("id", rollout.Id), new("stage", stage.Index), new("share", stage.Share), new("devices", stage.Devices), new("started", stage.StartedUnixMs), new("finished", stage.FinishedUnixMs)]);
        }
        foreach (var device in rollout.Devices)
        {
            Run(store, """
                INSERT INTO rollout_devices VALUES ($id, $device, $stage, $state, $outcome, $code, $reason, $active, $previous, $revert_to, $reverted,
                  $assigned, $finished, $reverted_at, $download, $probation, $latency_ratio)
                """, DeviceParameters(rollout.Id, device));
        }
    }

    /// <summary>Writes back everything that can change.</summary>
    public static void Save(FleetStore store, Rollout rollout)
    {
        Run(store, """
            UPDATE rollouts SET state = $state, current_stage = $stage, reason = $reason, updated_unix_ms = $updated, halted_unix_ms = $halted, finished_unix_ms = $finished
            WHERE id = $id
            """, [new("id", rollout.Id), new("state", Name(rollout.State)), new("stage", rollout.CurrentStage), new("reason", rollout.Reason),
                new("updated", rollout.UpdatedUnixMs), new("halted", rollout.HaltedUnixMs), new("finished", rollout.FinishedUnixMs)]);
        foreach (var stage in rollout.Stages)
        {
            Run(store, "UPDATE rollout_stages SET started_unix_ms = $started, finished_unix_ms = $finished WHERE rollout_id = $id AND stage = $stage",
                [new("id", rollout.Id), new("stage", stage.Index), new("started", stage.StartedUnixMs), new("finished", stage.FinishedUnixMs)]);
        }
        foreach (var device in rollout.Devices)
        {
            Run(store, """
                UPDATE rollout_devices SET state = $state, outcome = $outcome, reason_code = $code, reason = $reason, active_version = $active,
                  previous_version = $previous, revert_to = $revert_to, reverted = $reverted, assigned_unix_ms = $assigned, finished_unix_ms = $finished,
                  reverted_unix_ms = $reverted_at, download_ms = $download, probation_ms = $probation, latency_ratio = $latency_ratio
                WHERE rollout_id = $id AND device_id = $device AND stage = $stage
                """, DeviceParameters(rollout.Id, device));
        }
    }

    /// <summary>Changes only the state (pause, resume, abort from another process).</summary>
    public static void SetState(FleetStore store, string id, RolloutState state, string? reason, long nowUnixMs) =>
        Run(store, "UPDATE rollouts SET state = $state, reason = coalesce($reason, reason), updated_unix_ms = $now WHERE id = $id",
            [new("id", id), new("state", Name(state)), new("reason", reason), new("now", nowUnixMs)]);

    /// <summary>Ids of every rollout, newest first.</summary>
    public static List<string> Ids(FleetStore store)
    {
        EnsureTables(store);
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT id FROM rollouts ORDER BY created_unix_ms DESC, id DESC";
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    public static Rollout? Load(FleetStore store, string id)
    {
        EnsureTables(store);
        Rollout rollout;
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = """
                SELECT bundle, version, device_class, archive, desired, stages, max_failure, min_devices, stage_timeout_s, state, current_stage, reason,
                  created_unix_ms, updated_unix_ms, halted_unix_ms, finished_unix_ms FROM rollouts WHERE id = $id
                """;
            command.Parameters.Add(new DuckDBParameter("id", id));
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }
            var plan = new RolloutPlan
            {
                BundleName = reader.GetString(0),
                Version = reader.GetString(1),
                DeviceClass = reader.GetString(2),
                ArchivePath = reader.GetString(3),
                Stages = JsonSerializer.Deserialize<double[]>(reader.GetString(5))!,
                MaxFailure = reader.GetDouble(6),
                MinDevices = reader.GetInt32(7),
                StageTimeout = TimeSpan.FromSeconds(reader.GetDouble(8)),
            };
            var desired = DesiredBundle.Parse(System.Text.Encoding.UTF8.GetBytes(reader.GetString(4)), $"rollout {id}");
            rollout = new Rollout
            {
                Id = id,
                Plan = plan with { ChunkSize = desired.ChunkSize ?? plan.ChunkSize },
                Desired = desired,
                State = Enum.Parse<RolloutState>(reader.GetString(9), ignoreCase: true),
                CurrentStage = reader.GetInt32(10),
                Reason = reader.IsDBNull(11) ? null : reader.GetString(11),
                CreatedUnixMs = reader.GetInt64(12),
                UpdatedUnixMs = reader.GetInt64(13),
                HaltedUnixMs = reader.IsDBNull(14) ? null : reader.GetInt64(14),
                FinishedUnixMs = reader.IsDBNull(15) ? null : reader.GetInt64(15),
                Stages = [],
                Devices = [],
            };
        }
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = "SELECT stage, share, devices, started_unix_ms, finished_unix_ms FROM rollout_stages WHERE rollout_id = $id ORDER BY stage";
            command.Parameters.Add(new DuckDBParameter("id", id));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rollout.Stages.Add(new RolloutStage
                {
                    Index = reader.GetInt32(0), Share = reader.GetDouble(1), Devices = reader.GetInt32(2),
                    StartedUnixMs = reader.IsDBNull(3) ? null : reader.GetInt64(3), FinishedUnixMs = reader.IsDBNull(4) ? null : reader.GetInt64(4),
                });
            }
        }
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = """
                SELECT device_id, stage, state, outcome, reason_code, reason, active_version, previous_version, revert_to, reverted, assigned_unix_ms,
                  finished_unix_ms, reverted_unix_ms, download_ms, probation_ms, latency_ratio FROM rollout_devices WHERE rollout_id = $id ORDER BY stage, device_id
                """;
            command.Parameters.Add(new DuckDBParameter("id", id));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rollout.Devices.Add(new RolloutDevice
                {
                    DeviceId = reader.GetString(0),
                    Stage = reader.GetInt32(1),
                    State = Text(reader, 2),
                    Outcome = Text(reader, 3),
                    ReasonCode = Text(reader, 4),
                    Reason = Text(reader, 5),
                    ActiveVersion = Text(reader, 6),
                    PreviousVersion = Text(reader, 7),
                    RevertTo = Text(reader, 8),
                    Reverted = reader.GetBoolean(9),
                    AssignedUnixMs = reader.IsDBNull(10) ? null : reader.GetInt64(10),
                    FinishedUnixMs = reader.IsDBNull(11) ? null : reader.GetInt64(11),
                    RevertedUnixMs = reader.IsDBNull(12) ? null : reader.GetInt64(12),
                    DownloadMs = reader.IsDBNull(13) ? null : reader.GetDouble(13),
                    ProbationMs = reader.IsDBNull(14) ? null : reader.GetDouble(14),
                    LatencyRatio = reader.IsDBNull(15) ? null : reader.GetDouble(15),
                });
            }
        }
        return rollout;
    }

    public static string Name(RolloutState state) => state.ToString().ToLowerInvariant();

    private static string? Text(System.Data.Common.DbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private static DuckDBParameter[] Parameters(Rollout rollout) =>
    [
        new("id", rollout.Id), new("bundle", rollout.Plan.BundleName), new("version", rollout.Plan.Version), new("class", rollout.Plan.DeviceClass),
        new("archive", Path.GetFullPath(rollout.Plan.ArchivePath)), new("desired", System.Text.Encoding.UTF8.GetString(rollout.Desired.ToJson())),
        new("stages", JsonSerializer.Serialize(rollout.Plan.Stages)), new("max_failure", rollout.Plan.MaxFailure), new("min_devices", rollout.Plan.MinDevices),
        new("timeout", rollout.Plan.StageTimeout.TotalSeconds), new("state", Name(rollout.State)), new("stage", rollout.CurrentStage), new("reason", rollout.Reason),
        new("created", rollout.CreatedUnixMs), new("updated", rollout.UpdatedUnixMs), new("halted", rollout.HaltedUnixMs), new("finished", rollout.FinishedUnixMs),
    ];

    private static DuckDBParameter[] DeviceParameters(string id, RolloutDevice device) =>
    [
        new("id", id), new("device", device.DeviceId), new("stage", device.Stage), new("state", device.State), new("outcome", device.Outcome),
        new("code", device.ReasonCode), new("reason", device.Reason), new("active", device.ActiveVersion), new("previous", device.PreviousVersion),
        new("revert_to", device.RevertTo), new("reverted", device.Reverted), new("assigned", device.AssignedUnixMs), new("finished", device.FinishedUnixMs),
        new("reverted_at", device.RevertedUnixMs), new("download", device.DownloadMs), new("probation", device.ProbationMs),
        new("latency_ratio", device.LatencyRatio),
    ];

    private static void Run(FleetStore store, string sql, DuckDBParameter[] parameters)
    {
        using var command = store.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter);
        }
        try
        {
            command.ExecuteNonQuery();
        }
        catch (DuckDBException e)
        {
            throw new IOException($"fleet database: {e.Message}", e);
        }
    }
}
