namespace EdgeRuntime.Inference;

/// <summary>
/// Latency of one variant: percentiles over a sliding window (the last N samples no older than a
/// time span) and an exponentially weighted mean. Recording is O(1) under a short lock.
/// </summary>
public sealed class LatencyTracker
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _window;
    private readonly double _alpha;
    private readonly double[] _millis;
    private readonly long[] _stamps;
    private int _next;
    private int _filled;
    private long _total;
    private long _failures;
    private double _ewma = double.NaN;

    public LatencyTracker(TimeProvider time, int capacity = 1024, TimeSpan? window = null, double ewmaAlpha = 0.1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ewmaAlpha, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ewmaAlpha, 1);
        _time = time;
        _window = window ?? TimeSpan.FromMinutes(1);
        _alpha = ewmaAlpha;
        _millis = new double[capacity];
        _stamps = new long[capacity];
    }

    public void Record(TimeSpan elapsed)
    {
        double ms = elapsed.TotalMilliseconds;
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            _millis[_next] = ms;
            _stamps[_next] = now;
            _next = (_next + 1) % _millis.Length;
            _filled = Math.Min(_filled + 1, _millis.Length);
            _total++;
            _ewma = double.IsNaN(_ewma) ? ms : _ewma + _alpha * (ms - _ewma);
        }
    }

    public void RecordFailure() => Interlocked.Increment(ref _failures);

    public LatencySnapshot Snapshot()
    {
        double[] recent;
        long total;
        double ewma;
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            total = _total;
            ewma = _ewma;
            recent = new double[_filled];
            int count = 0;
            for (int i = 0; i < _filled; i++)
            {
                if (_time.GetElapsedTime(_stamps[i], now) <= _window)
                {
                    recent[count++] = _millis[i];
                }
            }
            Array.Resize(ref recent, count);
        }
        long failures = Interlocked.Read(ref _failures);
        if (recent.Length == 0)
        {
            return new LatencySnapshot(0, total, failures, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, ewma);
        }
        Array.Sort(recent);
        return new LatencySnapshot(
            recent.Length, total, failures,
            recent[0], Percentile(recent, 0.50), Percentile(recent, 0.95), Percentile(recent, 0.99), recent[^1],
            recent.Average(), ewma);
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double fraction)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }
        int rank = (int)Math.Ceiling(fraction * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}

/// <summary>Latency figures in milliseconds; NaN where the window holds no sample.</summary>
public readonly record struct LatencySnapshot(
    int WindowCount, long TotalCount, long Failures,
    double MinMs, double P50Ms, double P95Ms, double P99Ms, double MaxMs, double MeanMs, double EwmaMs);
