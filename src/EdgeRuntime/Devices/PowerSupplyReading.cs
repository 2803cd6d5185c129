namespace EdgeRuntime.Devices;

/// <summary>
/// One power supply (a battery, a mains adapter, a USB port). Units are SI: volts, amperes, watts;
/// capacity in percent. Status is the kernel's word: Charging, Discharging, Full, Not charging, Unknown.
/// </summary>
public sealed record PowerSupplyReading(
    string Name,
    string Type,
    Reading<double> CapacityPercent,
    Reading<string> Status,
    Reading<double> Volts,
    Reading<double> Amperes,
    Reading<double> Watts,
    Reading<bool> Online)
{
    public bool IsBattery => string.Equals(Type, "Battery", StringComparison.OrdinalIgnoreCase);
}
