using EdgeRuntime.Devices;

namespace EdgeRuntime.Server.Governance;

/// <summary>
/// Hands every model's controller the snapshot the daemon read on this tick, so the sensors are read once per
/// tick and every model decides on the same reading.
/// </summary>
internal sealed class SharedSnapshotMonitor(IDeviceMonitor inner) : IDeviceMonitor
{
    private volatile DeviceSnapshot? _latest;

    public string Board => inner.Board;

    /// <summary>The last snapshot read, or null before the first tick.</summary>
    public DeviceSnapshot? Latest => _latest;

    /// <summary>Reads the sensors now and makes that the snapshot every controller sees.</summary>
    public DeviceSnapshot Refresh()
    {
        var snapshot = inner.Read();
        _latest = snapshot;
        return snapshot;
    }

    public DeviceSnapshot Read() => _latest ?? Refresh();

    public IReadOnlyList<SourceHealth> GetHealth() => inner.GetHealth();
}
