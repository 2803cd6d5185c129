namespace EdgeRuntime.Devices.Sources;

/// <summary>
/// Android's thermal headroom and status, supplied by the app's platform binding through delegates. Android
/// asks that headroom be polled at most once a second, so a faster caller gets the previous value back.
/// </summary>
public sealed class AndroidThermalSource(Func<double> headroom, Func<AndroidThermalStatus> status, TimeProvider time) : ISensorSource
{
    private DateTimeOffset? _polledAt;
    private Reading<double> _headroom;
    private Reading<double> _status;

    public string Name => "android_thermal";

    /// <summary>How many times the platform was actually asked (for checking the poll limit).</summary>
    public int PlatformPolls { get; private set; }

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        var now = time.GetUtcNow();
        if (_polledAt is null || now - _polledAt.Value >= AndroidThermal.MinimumPollInterval)
        {
            _polledAt = now;
            PlatformPolls++;
            double value = headroom();
            _headroom = double.IsNaN(value) || value < 0
                ? Reading<double>.Unavailable(double.IsNaN(value) ? "Android returned NaN headroom (no forecast yet)" : $"headroom {value} is negative")
                : Reading<double>.Ok(value);
            var level = status();
            _status = Enum.IsDefined(level) ? Reading<double>.Ok((double)level) : Reading<double>.Unavailable($"unknown thermal status {(int)level}");
        }
        snapshot.AddSensor("android", "thermal_headroom", "", _headroom);
        snapshot.AddSensor("android", "thermal_status", "level", _status);
    }
}
