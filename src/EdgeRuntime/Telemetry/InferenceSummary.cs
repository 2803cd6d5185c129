using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>Inference on one variant over a window, with the conditions it ran under (what fleet fitting needs).</summary>
[MessagePackObject]
public sealed class InferenceSummary
{
    [Key(0)] public string Variant { get; set; } = "";
    [Key(1)] public double WindowSeconds { get; set; }
    [Key(2)] public long Count { get; set; }
    /// <summary>Null where only percentiles were kept (e.g. simulated windows).</summary>
    [Key(3)] public double? MeanMs { get; set; }
    [Key(4)] public double P95Ms { get; set; }
    [Key(5)] public double? FrequencyMhz { get; set; }
    [Key(6)] public double? Celsius { get; set; }
    /// <summary>Board power while serving, where a power rail or battery reports it.</summary>
    [Key(7)] public double? PowerWatts { get; set; }
    [Key(8)] public long Errors { get; set; }
}
