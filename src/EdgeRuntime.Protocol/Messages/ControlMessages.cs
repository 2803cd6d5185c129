using MessagePack;

namespace EdgeRuntime.Protocol.Messages;

/// <summary>App hints for the policy (e.g. "latency_slo_ms", "power"). A "variant" hint pins that variant now.
/// An empty value removes a hint.</summary>
[MessagePackObject]
public sealed class SetHintsRequest
{
    [Key("model")] public string? Model { get; set; }
    [Key("hints")] public Dictionary<string, string>? Hints { get; set; }
}

[MessagePackObject]
public sealed class SetHintsResponse
{
    [Key("model")] public string Model { get; set; } = "";
    [Key("hints")] public Dictionary<string, string> Hints { get; set; } = [];
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
}

[MessagePackObject]
public sealed class ReloadRequest
{
    [Key("model")] public string? Model { get; set; }
    /// <summary>"bundle" (default) or "profile".</summary>
    [Key("kind")] public string? Kind { get; set; }
    /// <summary>Bundle directory to serve instead; absent to reopen the current one (after an update in place).</summary>
    [Key("path")] public string? Path { get; set; }
}

[MessagePackObject]
public sealed class ReloadResponse
{
    [Key("model")] public string Model { get; set; } = "";
    [Key("path")] public string Path { get; set; } = "";
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
    [Key("variants")] public string[] Variants { get; set; } = [];
}
