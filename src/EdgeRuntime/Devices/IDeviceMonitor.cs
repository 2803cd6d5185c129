namespace EdgeRuntime.Devices;

/// <summary>Reads every sensor source of a board into one snapshot; never throws because a sensor failed.</summary>
public interface IDeviceMonitor
{
    /// <summary>The board descriptor's id (raspberry-pi-4, generic-linux, ...).</summary>
    string Board { get; }

    /// <summary>Reads all sources now.</summary>
    DeviceSnapshot Read();

    /// <summary>Per-source counts of good, unavailable and stale readings and of faults, since start.</summary>
    IReadOnlyList<SourceHealth> GetHealth();
}
