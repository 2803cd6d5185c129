namespace EdgeRuntime.Telemetry;

public enum TelemetryRecordKind
{
    Inference = 1,
    Switch = 2,
    Sensor = 3,
    Error = 4,
}
