using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>A failure worth seeing from the fleet: a variant that failed to load, a sensor gone, an I/O error.</summary>
[MessagePackObject]
public sealed class TelemetryError
{
    [Key(0)] public string Source { get; set; } = "";
    [Key(1)] public string Message { get; set; } = "";
}
