namespace EdgeRuntime.Protocol;

/// <summary>
/// Waits between reconnection attempts: min, 2×min, 4×min ... up to max, each shortened by up to
/// <c>jitter</c> of itself so a fleet does not reconnect in step after the broker (or daemon) comes back.
/// One implementation for both reconnecting sides: the app client and the device uplink.
/// </summary>
public sealed class ExponentialBackoff
{
    private readonly TimeSpan _min;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Random _random;
    private int _failures;

    public ExponentialBackoff(TimeSpan min, TimeSpan max, double jitter = 0.2, Random? random = null)
    {
        // A zero min is allowed: retry at once (the client's InitialBackoff may be zero).
        if (min < TimeSpan.Zero || max < min)
        {
            throw new ArgumentException($"backoff needs 0 <= min <= max, not min {min}, max {max}");
        }
        if (jitter is < 0 or >= 1)
        {
            throw new ArgumentException($"backoff jitter {jitter} must be in [0, 1)");
        }
        (_min, _max, _jitter, _random) = (min, max, jitter, random ?? Random.Shared);
    }

    public int Failures => _failures;

    /// <summary>The wait before the next attempt, after one more failure.</summary>
    public TimeSpan Next()
    {
        double factor = Math.Pow(2, Math.Min(_failures, 30));
        _failures++;
        double ticks = Math.Min(_max.Ticks, _min.Ticks * factor);
        return TimeSpan.FromTicks((long)(ticks * (1 - _jitter * _random.NextDouble())));
    }

    public void Reset() => _failures = 0;
}
