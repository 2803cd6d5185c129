namespace EdgeRuntime.Devices;

/// <summary>
/// Maps what Android exposes onto <see cref="ThermalState"/>: the status levels, and the thermal headroom
/// (0 = no pressure, 1 = the point where the platform reports Severe, above 1 beyond it).
/// </summary>
public static class AndroidThermal
{
    /// <summary>Android documents that headroom should be polled at most once a second.</summary>
    public static readonly TimeSpan MinimumPollInterval = TimeSpan.FromSeconds(1);

    public static ThermalState FromStatus(AndroidThermalStatus status) => status switch
    {
        AndroidThermalStatus.None => ThermalState.Nominal,
        AndroidThermalStatus.Light => ThermalState.Fair,
        AndroidThermalStatus.Moderate => ThermalState.Fair,
        AndroidThermalStatus.Severe => ThermalState.Serious,
        AndroidThermalStatus.Critical or AndroidThermalStatus.Emergency or AndroidThermalStatus.Shutdown => ThermalState.Critical,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "unknown Android thermal status"),
    };

    /// <summary>
    /// Headroom below 0.5 is nominal, below 0.85 fair, from 0.85 serious (a little before Android's Severe at 1,
    /// so a governor acts before the platform does), from 1.2 critical.
    /// </summary>
    public static ThermalState FromHeadroom(double headroom)
    {
        if (double.IsNaN(headroom))
        {
            throw new ArgumentException("thermal headroom is NaN (Android returns NaN when it has no forecast); treat it as unavailable");
        }
        return headroom >= 1.2 ? ThermalState.Critical
            : headroom >= 0.85 ? ThermalState.Serious
            : headroom >= 0.5 ? ThermalState.Fair
            : ThermalState.Nominal;
    }
}
