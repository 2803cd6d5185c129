namespace EdgeRuntime.Devices;

/// <summary>Settings of the device monitor, validated when it starts.</summary>
public sealed class DeviceMonitorOptions
{
    /// <summary>A temperature or power reading that repeats exactly for this long is reported stale.</summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Overrides the board's thermal thresholds (null: the descriptor's).</summary>
    public ThermalThresholds? Thresholds { get; set; }

    /// <summary>Read I2C chips named in the descriptor (off where no bus exists, for example on a simulated tree).</summary>
    public bool ReadI2c { get; set; } = true;

    /// <summary>Run vcgencmd / nvpmodel when their sysfs nodes are missing.</summary>
    public bool RunBoardTools { get; set; } = true;

    public void Validate()
    {
        if (StuckAfter <= TimeSpan.Zero)
        {
            throw new ArgumentException($"StuckAfter must be positive, not {StuckAfter}");
        }
        Thresholds?.Validate();
    }
}
