namespace EdgeRuntime.Devices;

/// <summary>One thermal zone: its sysfs name (thermal_zone0), its type (cpu-thermal, CPU-therm, ...) and temperature.</summary>
public sealed record ThermalZoneReading(string Zone, string Type, Reading<double> Celsius);
