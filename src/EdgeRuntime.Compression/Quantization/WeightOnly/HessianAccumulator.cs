namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// Running sum of x·xᵀ over the rows x (length K) of a layer's input, one batch's Gram matrix at a time,
/// so GPTQ's Hessian costs K×K numbers whatever the number of calibration samples. The sum is not divided
/// by the row count: GPTQ gives the same result for any positive multiple of H (its damping is relative).
/// </summary>
internal sealed class HessianAccumulator(int k)
{
    private readonly double[] _sum = new double[k * k];

    public int K { get; } = k;
    public int Batches { get; private set; }

    /// <summary>Adds one batch's XᵀX ([K, K], row-major).</summary>
    public void AddGram(ReadOnlySpan<float> gram)
    {
        if (gram.Length != _sum.Length)
        {
            throw new InvalidDataException($"a Gram matrix of {gram.Length} values does not match a layer input of width {K}");
        }
        for (int i = 0; i < _sum.Length; i++)
        {
            _sum[i] += gram[i];
        }
        Batches++;
    }

    /// <summary>Σ x·xᵀ, symmetric [K, K] (a copy).</summary>
    public double[] Hessian() => (double[])_sum.Clone();
}
