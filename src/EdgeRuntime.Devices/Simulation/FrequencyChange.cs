namespace EdgeRuntime.Devices.Simulation;

/// <summary>A DVFS step the simulated firmware took: when, from and to which frequency, at what temperature, and why.</summary>
public sealed record FrequencyChange(TimeSpan At, double FromMhz, double ToMhz, double Celsius, string Reason);
