namespace EdgeRuntime.Devices;

/// <summary>
/// Coarse thermal pressure, following the platforms' conventions (Apple's nominal / fair / serious / critical;
/// Android's status levels and headroom map onto it, see <see cref="AndroidThermal"/>).
/// </summary>
public enum ThermalState
{
    Nominal,
    Fair,
    Serious,
    Critical,
}
