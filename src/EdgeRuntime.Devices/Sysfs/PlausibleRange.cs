namespace EdgeRuntime.Devices.Sysfs;

/// <summary>
/// Limits outside which a value is a sensor fault rather than a measurement (a disconnected thermistor reads
/// −273 °C; a broken ADC reads full scale). Out-of-range values become unavailable readings.
/// </summary>
public static class PlausibleRange
{
    public const double MinCelsius = -55;
    public const double MaxCelsius = 150;

    public static Reading<double> Celsius(Reading<double> reading, string what) =>
        Check(reading, what, MinCelsius, MaxCelsius, "°C");

    public static Reading<double> Check(Reading<double> reading, string what, double min, double max, string unit)
    {
        if (!reading.TryGetValue(out double value))
        {
            return reading;
        }
        return double.IsFinite(value) && value >= min && value <= max
            ? reading
            : Reading<double>.Unavailable($"{what} reads {value:0.###} {unit}, outside the plausible {min}..{max} {unit}");
    }
}
