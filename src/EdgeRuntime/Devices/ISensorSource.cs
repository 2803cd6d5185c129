namespace EdgeRuntime.Devices;

/// <summary>
/// One place readings come from (the thermal zones, cpufreq, a power monitor chip). A source adds what it read to
/// the snapshot builder; it should turn its own failures into unavailable readings, and the monitor catches
/// anything it lets escape, so one broken source never stops the others.
/// </summary>
public interface ISensorSource
{
    /// <summary>A short stable name for health counts and messages ("thermal", "cpufreq", "i2c:ina219@1-0x40").</summary>
    string Name { get; }

    void ReadInto(DeviceSnapshotBuilder snapshot);
}
