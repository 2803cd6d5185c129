namespace EdgeRuntime.Devices;

/// <summary>
/// Temperatures (°C) at which a board enters each thermal state, with a hysteresis band so a reading that
/// hovers at a threshold does not flip the state on every sample.
/// </summary>
public sealed record ThermalThresholds(double FairCelsius, double SeriousCelsius, double CriticalCelsius, double HysteresisCelsius = 2)
{
    /// <summary>Throws when the thresholds are not increasing or the hysteresis is negative.</summary>
    public void Validate()
    {
        if (!(FairCelsius < SeriousCelsius && SeriousCelsius < CriticalCelsius))
        {
            throw new ArgumentException($"thermal thresholds must increase: fair {FairCelsius} < serious {SeriousCelsius} < critical {CriticalCelsius} °C");
        }
        if (HysteresisCelsius < 0 || double.IsNaN(HysteresisCelsius))
        {
            throw new ArgumentException($"thermal hysteresis must be zero or more, not {HysteresisCelsius} °C");
        }
    }

    /// <summary>The state for a temperature with no history.</summary>
    public ThermalState Classify(double celsius) =>
        celsius >= CriticalCelsius ? ThermalState.Critical
        : celsius >= SeriousCelsius ? ThermalState.Serious
        : celsius >= FairCelsius ? ThermalState.Fair
        : ThermalState.Nominal;

    /// <summary>
    /// The state given the previous one: rising is immediate, falling only once the temperature is a
    /// hysteresis band below the threshold of the current state.
    /// </summary>
    public ThermalState Classify(double celsius, ThermalState previous)
    {
        var raw = Classify(celsius);
        if (raw >= previous)
        {
            return raw;
        }
        var lowered = Classify(celsius + HysteresisCelsius);
        return lowered < previous ? lowered : previous;
    }
}
