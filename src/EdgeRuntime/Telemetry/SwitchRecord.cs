using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>A variant switch and the governor's reason for it.</summary>
[MessagePackObject]
public sealed class SwitchRecord
{
    [Key(0)] public string From { get; set; } = "";
    [Key(1)] public string To { get; set; } = "";
    /// <summary>The governor's reason code (a <c>DecisionReason</c> name).</summary>
    [Key(2)] public string Reason { get; set; } = "";
    [Key(3)] public string Detail { get; set; } = "";
    [Key(4)] public double? Celsius { get; set; }
}
