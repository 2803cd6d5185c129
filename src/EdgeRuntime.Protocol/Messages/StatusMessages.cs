using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

[MessagePackObject]
public sealed class StatusRequest
{
    /// <summary>One model, or every model when absent.</summary>
    [Key("model")] public string? Model { get; set; }
}

[MessagePackObject]
public sealed class StatusResponse
{
    [Key("server")] public ServerStatus Server { get; set; } = new();
    [Key("models")] public ModelStatus[] Models { get; set; } = [];
    /// <summary>Latest sensor readings by name (e.g. "thermal/hottest_c"); only readings that are trustworthy now.</summary>
    [Key("sensors")] public Dictionary<string, double> Sensors { get; set; } = [];
    /// <summary>"nominal", "fair", "serious", "critical", or absent when no temperature can be read.</summary>
    [Key("thermal_state")] public string? ThermalState { get; set; }
    /// <summary>Throttle flags of the board (Raspberry Pi firmware names), now and since boot; empty when none or unknown.</summary>
    [Key("throttle")] public string[] Throttle { get; set; } = [];
    /// <summary>The board's power mode (e.g. a Jetson nvpmodel mode), when it reports one.</summary>
    [Key("power_mode")] public string? PowerMode { get; set; }
    /// <summary>When the sensors were read, or absent before the first reading.</summary>
    [Key("sampled_at_unix_ms")] public long? SampledAtUnixMs { get; set; }
    /// <summary>The board, the profile in force and the health of the governor's tick; absent when the daemon runs none.</summary>
    [Key("governor")] public GovernorStatus? Governor { get; set; }
    /// <summary>The device telemetry log's health and what it lost; absent when the daemon keeps no log.</summary>
    [Key("telemetry")] public TelemetryStatus? Telemetry { get; set; }
}

[MessagePackObject]
public sealed class TelemetryStatus
{
    /// <summary>"ok"; "degraded" when records were lost (the count survives restarts) or writes fail now.</summary>
    [Key("state")] public string State { get; set; } = "";
    /// <summary>Records lost since the log was created: failed writes plus records dropped on a full queue.</summary>
    [Key("lost_records")] public long LostRecords { get; set; }
    [Key("write_errors")] public long WriteErrors { get; set; }
    /// <summary>Since when writes fail (disk full or gone); absent while they succeed.</summary>
    [Key("failing_since_unix_ms")] public long? FailingSinceUnixMs { get; set; }
    [Key("last_error")] public string? LastError { get; set; }
    [Key("last_sequence")] public long LastSequence { get; set; }
}

[MessagePackObject]
public sealed class GovernorStatus
{
    /// <summary>Whether the governor may switch variants; when false, only sensors are read.</summary>
    [Key("adaptive")] public bool Adaptive { get; set; }
    [Key("board")] public string Board { get; set; } = "";
    /// <summary>Why this board descriptor: configured, or what auto-detection saw.</summary>
    [Key("board_reason")] public string BoardReason { get; set; } = "";
    [Key("device_class")] public string DeviceClass { get; set; } = "";
    [Key("profile_version")] public long ProfileVersion { get; set; }
    /// <summary>The profile's provenance ("hand-written", "fleet-fit", ...).</summary>
    [Key("profile_provenance")] public string ProfileProvenance { get; set; } = "";
    /// <summary>Where the profile in force came from: "built-in", a file path, or "client".</summary>
    [Key("profile_from")] public string ProfileFrom { get; set; } = "";
    /// <summary>Why the last offered profile was refused, if one was since the daemon started.</summary>
    [Key("profile_refusal")] public string? ProfileRefusal { get; set; }
    [Key("tick_ms")] public double TickMs { get; set; }
    [Key("ticks")] public long Ticks { get; set; }
    [Key("tick_failures")] public long TickFailures { get; set; }
    /// <summary>How long every tick has failed, or absent while ticks succeed.</summary>
    [Key("failing_for_ms")] public long? FailingForMs { get; set; }
    [Key("last_error")] public string? LastError { get; set; }
}

[MessagePackObject]
public sealed class ServerStatus
{
    [Key("version")] public string Version { get; set; } = "";
    [Key("uptime_ms")] public long UptimeMs { get; set; }
    [Key("connections")] public int Connections { get; set; }
    [Key("workers")] public int Workers { get; set; }
    [Key("queue_depth")] public int QueueDepth { get; set; }
    [Key("queue_capacity")] public int QueueCapacity { get; set; }
    [Key("in_flight")] public int InFlight { get; set; }
    [Key("completed")] public long Completed { get; set; }
    [Key("failed")] public long Failed { get; set; }
    [Key("overloaded")] public long Overloaded { get; set; }
    [Key("expired")] public long Expired { get; set; }
    [Key("cancelled")] public long Cancelled { get; set; }
    [Key("healthy")] public bool Healthy { get; set; }
    /// <summary>CPU time of the daemon process since it started (all threads, ONNX Runtime's pools included).</summary>
    [Key("cpu_seconds")] public double CpuSeconds { get; set; }
    /// <summary>Seconds the CPU figures below cover (the last minute, or since start).</summary>
    [Key("cpu_window_s")] public double CpuWindowSeconds { get; set; }
    /// <summary>Process CPU-seconds per completed inference over the window; absent without inferences.</summary>
    [Key("cpu_s_per_inference")] public double? CpuSecondsPerInference { get; set; }
    /// <summary>Share of all cores the daemon kept busy over the window.</summary>
    [Key("cpu_utilisation")] public double CpuUtilisation { get; set; }
    /// <summary>CPU energy per inference estimated from the board's power model × CPU time, in millijoules; absent without a model.</summary>
    [Key("energy_mj_per_inference")] public double? EnergyMillijoulesPerInference { get; set; }
    [Key("draining")] public bool Draining { get; set; }
    /// <summary>Connections closed because the client was idle or too slow (handshake, header or body timeout).</summary>
    [Key("connections_timed_out")] public long ConnectionsTimedOut { get; set; }
    /// <summary>Connections refused at accept: the daemon full, or the peer's user or process at its share.</summary>
    [Key("connections_refused")] public long ConnectionsRefused { get; set; }
}

[MessagePackObject]
public sealed class ModelStatus
{
    [Key("name")] public string Name { get; set; } = "";
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
    /// <summary>Why the current variant was chosen, newest first (the governor's reason codes once it runs).</summary>
    [Key("reasons")] public string[] Reasons { get; set; } = [];
    /// <summary>Threads and spinning new requests run with: "1", "all" or "all+spin".</summary>
    [Key("knobs")] public string? Knobs { get; set; }
    /// <summary>Inferences this model ran since it opened, and the CPU their runs took on the threads that ran them
    /// (thread CPU clocks around ONNX Runtime's run): with the daemon's process CPU, what the rest of a request costs.</summary>
    [Key("runs")] public long Runs { get; set; }
    [Key("run_cpu_s")] public double RunCpuSeconds { get; set; }
    [Key("switches")] public long Switches { get; set; }
    [Key("last_switch")] public SwitchEvent? LastSwitch { get; set; }
    [Key("hints")] public Dictionary<string, string> Hints { get; set; } = [];
    [Key("reloads")] public long Reloads { get; set; }
    [Key("variants")] public VariantLatency[] Variants { get; set; } = [];
    /// <summary>The governor's recent decisions, newest first; repeats of one decision are folded into one record.</summary>
    [Key("decisions")] public DecisionRecord[] Decisions { get; set; } = [];
}

/// <summary>One governor decision, or a run of identical ones.</summary>
[MessagePackObject]
public sealed class DecisionRecord
{
    /// <summary>The latest decision of the run.</summary>
    [Key("at_unix_ms")] public long AtUnixMs { get; set; }
    [Key("first_at_unix_ms")] public long FirstAtUnixMs { get; set; }
    [Key("count")] public long Count { get; set; }
    [Key("from")] public string From { get; set; } = "";
    [Key("to")] public string To { get; set; } = "";
    /// <summary>The reason code (Initial, Steady, Headroom, DwellHold, SloBreach, SloRisk, ThermalPredicted, ThermalSerious, ...).</summary>
    [Key("code")] public string Code { get; set; } = "";
    [Key("detail")] public string Detail { get; set; } = "";
    [Key("temperature_c")] public double? TemperatureCelsius { get; set; }
    [Key("predicted_p95_ms")] public double? PredictedP95Ms { get; set; }
    [Key("slo_p95_ms")] public double? SloP95Ms { get; set; }
}

[MessagePackObject]
public sealed class VariantLatency
{
    [Key("id")] public string Id { get; set; } = "";
    [Key("state")] public string State { get; set; } = "";
    [Key("current")] public bool Current { get; set; }
    [Key("count")] public long Count { get; set; }
    [Key("failures")] public long Failures { get; set; }
    /// <summary>Milliseconds over the recent window; absent when the window holds no sample.</summary>
    [Key("p50_ms")] public double? P50Ms { get; set; }
    [Key("p95_ms")] public double? P95Ms { get; set; }
    [Key("p99_ms")] public double? P99Ms { get; set; }
    [Key("ewma_ms")] public double? EwmaMs { get; set; }
    /// <summary>Why the variant cannot serve, when its state is "unavailable".</summary>
    [Key("unavailable_reason")] public string? UnavailableReason { get; set; }
}
