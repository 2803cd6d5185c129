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
    /// <summary>Bundle directory to serve instead; absent to reopen the current one (after an update in place).
    /// For kind "profile": a profile file (.json) to offer; absent to re-read the configured profile file.</summary>
    [Key("path")] public string? Path { get; set; }
    /// <summary>For kind "profile": the profile itself, as JSON text (instead of a path).</summary>
    [Key("profile")] public string? Profile { get; set; }
}

[MessagePackObject]
public sealed class ReloadResponse
{
    [Key("model")] public string Model { get; set; } = "";
    [Key("path")] public string Path { get; set; } = "";
    [Key("current_variant")] public string CurrentVariant { get; set; } = "";
    [Key("variants")] public string[] Variants { get; set; } = [];
    /// <summary>For kind "profile": the version now in force, its device class and what the daemon said.</summary>
    [Key("profile_version")] public long? ProfileVersion { get; set; }
    [Key("device_class")] public string? DeviceClass { get; set; }
    [Key("detail")] public string? Detail { get; set; }
}
