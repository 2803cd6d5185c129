namespace EdgeRuntime.Devices;

/// <summary>Android's PowerManager thermal status levels (THERMAL_STATUS_NONE .. THERMAL_STATUS_SHUTDOWN).</summary>
public enum AndroidThermalStatus
{
    None = 0,
    Light = 1,
    Moderate = 2,
    Severe = 3,
    Critical = 4,
    Emergency = 5,
    Shutdown = 6,
}
