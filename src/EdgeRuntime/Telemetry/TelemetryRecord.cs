using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// One telemetry record: exactly one of the payload fields is set, as <see cref="Kind"/> says. Keys are
/// integers so the payload stays small and old readers skip fields added later.
/// </summary>
[MessagePackObject]
public sealed class TelemetryRecord
{
    /// <summary>Per-device sequence number, assigned by the log; with <see cref="DeviceId"/> the record's identity.</summary>
    [Key(0)] public long Sequence { get; set; }
    [Key(1)] public long UnixTimeMilliseconds { get; set; }
    [Key(2)] public TelemetryRecordKind Kind { get; set; }
    [Key(3)] public string DeviceId { get; set; } = "";
    [Key(4)] public string DeviceClass { get; set; } = "";
    [Key(5)] public InferenceSummary? Inference { get; set; }
    [Key(6)] public SwitchRecord? Switch { get; set; }
    [Key(7)] public SensorSample? Sensor { get; set; }
    [Key(8)] public TelemetryError? Error { get; set; }

    public static TelemetryRecord For(InferenceSummary summary) => new() { Kind = TelemetryRecordKind.Inference, Inference = summary };
    public static TelemetryRecord For(SwitchRecord switchEvent) => new() { Kind = TelemetryRecordKind.Switch, Switch = switchEvent };
    public static TelemetryRecord For(SensorSample sample) => new() { Kind = TelemetryRecordKind.Sensor, Sensor = sample };
    public static TelemetryRecord For(TelemetryError error) => new() { Kind = TelemetryRecordKind.Error, Error = error };

    /// <summary>True when the payload field matching <see cref="Kind"/> is present (checked on read: data comes from outside).</summary>
    [IgnoreMember]
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsWellFormed => Kind switch
    {
        TelemetryRecordKind.Inference => Inference is not null,
        TelemetryRecordKind.Switch => Switch is not null,
        TelemetryRecordKind.Sensor => Sensor is not null,
        TelemetryRecordKind.Error => Error is not null,
        _ => false,
    };
}
