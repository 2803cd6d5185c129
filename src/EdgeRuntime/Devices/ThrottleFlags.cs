namespace EdgeRuntime.Devices;

/// <summary>
/// Raspberry Pi firmware throttle bits, as `vcgencmd get_throttled` and the firmware's sysfs node report them:
/// the low bits are "now", the same bits shifted by 16 are "has occurred since boot".
/// </summary>
[Flags]
public enum ThrottleFlags
{
    None = 0,
    UnderVoltage = 1 << 0,
    FrequencyCapped = 1 << 1,
    Throttled = 1 << 2,
    SoftTemperatureLimit = 1 << 3,
    UnderVoltageOccurred = 1 << 16,
    FrequencyCappedOccurred = 1 << 17,
    ThrottledOccurred = 1 << 18,
    SoftTemperatureLimitOccurred = 1 << 19,
}
