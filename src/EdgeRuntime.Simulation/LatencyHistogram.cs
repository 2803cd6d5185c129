namespace EdgeRuntime.Simulation;

/// <summary>Log-spaced latency histogram (1% resolution): percentiles of millions of requests in fixed memory.</summary>
internal sealed class LatencyHistogram
{
    private const double MinMs = 1e-4;
    private const double Growth = 1.01;
    private readonly long[] _bins = new long[2400];
    private long _count;

    public void Add(double ms)
    {
        int bin = ms <= MinMs ? 0 : (int)(Math.Log(ms / MinMs) / Math.Log(Growth));
        _bins[Math.Clamp(bin, 0, _bins.Length - 1)]++;
        _count++;
    }

    public double Percentile(double fraction)
    {
        if (_count == 0)
        {
            return double.NaN;
        }
        long wanted = (long)Math.Ceiling(fraction * _count), running = 0;
        for (int i = 0; i < _bins.Length; i++)
        {
            running += _bins[i];
            if (running >= wanted)
            {
                return MinMs * Math.Pow(Growth, i + 1);
            }
        }
        return double.PositiveInfinity;
    }
}
