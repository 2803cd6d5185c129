using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

[MessagePackObject]
public sealed class SubscribeRequest
{
    /// <summary>Kinds to receive: "switch", "reload", "thermal", "hints"; empty or absent for all.</summary>
    [Key("events")] public string[]? Events { get; set; }
}

[MessagePackObject]
public sealed class SubscribeResponse
{
    /// <summary>Events of this subscription arrive with this frame id (the subscribe request's id).</summary>
    [Key("subscription")] public uint Subscription { get; set; }
    [Key("events")] public string[] Events { get; set; } = [];
}

[MessagePackObject]
public sealed class UnsubscribeRequest
{
    [Key("subscription")] public uint Subscription { get; set; }
}

/// <summary>An empty acknowledgement.</summary>
[MessagePackObject]
public sealed class Acknowledgement
{
}

/// <summary>Something that happened in the daemon, pushed to subscribers.</summary>
[MessagePackObject]
public sealed class ServerEvent
{
    /// <summary>"switch", "reload", "thermal" or "hints".</summary>
    [Key("kind")] public string Kind { get; set; } = "";
    [Key("model")] public string? Model { get; set; }
    [Key("at_unix_ms")] public long AtUnixMs { get; set; }
    [Key("switch")] public SwitchEvent? Switch { get; set; }
    [Key("detail")] public string? Detail { get; set; }
    /// <summary>Events dropped for this subscriber since the last one delivered, because it read too slowly.</summary>
    [Key("dropped")] public long Dropped { get; set; }
}

[MessagePackObject]
public sealed class SwitchEvent
{
    [Key("from")] public string From { get; set; } = "";
    [Key("to")] public string To { get; set; } = "";
    [Key("at_unix_ms")] public long AtUnixMs { get; set; }
    [Key("reason")] public string? Reason { get; set; }
    /// <summary>The governor's reason code (ThermalSerious, SloBreach, ...) when the governor switched; absent otherwise.</summary>
    [Key("code")] public string? Code { get; set; }
}
