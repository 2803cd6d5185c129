namespace EdgeRuntime.Simulation;

/// <summary>Time that moves only when the simulation says so, so hours of board time take seconds and repeat exactly.</summary>
public sealed class VirtualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _ticks;

    public TimeSpan Elapsed => TimeSpan.FromTicks(_ticks);

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        _ticks += by.Ticks;
    }

    public override DateTimeOffset GetUtcNow() => start + Elapsed;

    public override long GetTimestamp() => _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
}
