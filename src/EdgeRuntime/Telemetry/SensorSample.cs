using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>One sensor reading, e.g. "soc_celsius", "cpu0_mhz", "battery_percent".</summary>
[MessagePackObject]
public sealed class SensorSample
{
    [Key(0)] public string Name { get; set; } = "";
    [Key(1)] public double Value { get; set; }
    [Key(2)] public string Unit { get; set; } = "";
}
