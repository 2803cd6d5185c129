namespace EdgeRuntime.Data;

/// <summary>
/// SplitMix64: a tiny generator whose sequence is fixed by its seed on every platform and .NET
/// version, so generated sentences and images are the same bytes everywhere.
/// </summary>
public sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [min, max).</summary>
    public double Between(double min, double max) => min + (max - min) * NextDouble();

    /// <summary>Uniform integer in [0, count).</summary>
    public int Next(int count) => (int)(NextUInt64() % (ulong)count);

    /// <summary>Uniform integer in [min, max].</summary>
    public int NextInclusive(int min, int max) => min + Next(max - min + 1);

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    public bool Chance(double probability) => NextDouble() < probability;

    /// <summary>
    /// Approximately standard normal: the sum of four 16-bit uniforms from one draw (Irwin-Hall),
    /// cheap enough for per-pixel noise.
    /// </summary>
    public double NextGaussian()
    {
        ulong bits = NextUInt64();
        double sum = (bits & 0xFFFF) + ((bits >> 16) & 0xFFFF) + ((bits >> 32) & 0xFFFF) + (bits >> 48);
        // Four uniforms on [0, 1) have mean 2 and variance 1/3.
        return (sum / 65536.0 - 2.0) * Math.Sqrt(3.0);
    }
}
