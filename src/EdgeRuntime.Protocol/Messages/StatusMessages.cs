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
    /// <summary>Latest sensor readings by name (e.g. "thermal/cpu_c"); empty until a device monitor runs.</summary>
    [Key("sensors")] public Dictionary<string, double> Sensors { get; set; } = [];
    /// <summary>"nominal", "fair", "serious", "critical", or absent when nothing measures it.</summary>
    [Key("thermal_state")] public string? ThermalState { get; set; }
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
    [Key("draining")] public bool Draining { get; set; }
}

[MessagePackObject]
public sealed class ModelStatus
{
    [Key("name")] public string Name { get; set; } = "";
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
    /// <summary>Why the current variant was chosen, newest first (the governor's reason codes once it runs).</summary>
    [Key("reasons")] public string[] Reasons { get; set; } = [];
    [Key("switches")] public long Switches { get; set; }
    [Key("last_switch")] public SwitchEvent? LastSwitch { get; set; }
    [Key("hints")] public Dictionary<string, string> Hints { get; set; } = [];
    [Key("reloads")] public long Reloads { get; set; }
    [Key("variants")] public VariantLatency[] Variants { get; set; } = [];
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
}
