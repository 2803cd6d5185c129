namespace EdgeRuntime.Devices;

/// <summary>
/// Marks a reading stale when its value has not changed for longer than a limit. Real analog sensors
/// (temperatures, power) always jitter in their last digit; one that repeats exactly for minutes has usually
/// lost its driver or its bus. Time comes from the injected clock.
/// </summary>
public sealed class StuckSensorDetector(TimeProvider time, TimeSpan stuckAfter)
{
    private readonly Dictionary<string, (double Value, DateTimeOffset Since)> _last = [];
    private readonly Lock _gate = new();

    public TimeSpan StuckAfter { get; } = stuckAfter > TimeSpan.Zero
        ? stuckAfter
        : throw new ArgumentOutOfRangeException(nameof(stuckAfter), stuckAfter, "the stuck-sensor limit must be positive");

    /// <summary>Returns the reading unchanged, or stale when <paramref name="key"/> has held this exact value too long.</summary>
    public Reading<double> Check(string key, Reading<double> reading)
    {
        if (!reading.TryGetValue(out double value))
        {
            return reading;
        }
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_last.TryGetValue(key, out var last) || last.Value != value)
            {
                _last[key] = (value, now);
                return reading;
            }
            var held = now - last.Since;
            return held > StuckAfter
                ? Reading<double>.Stale(value, $"stuck at {value} for {held.TotalSeconds:0} s (limit {StuckAfter.TotalSeconds:0} s)")
                : reading;
        }
    }
}
