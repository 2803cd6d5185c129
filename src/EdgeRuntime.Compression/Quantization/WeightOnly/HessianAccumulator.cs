namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// Running sum of x·xᵀ over the rows x (length K) of a layer's input, batch by batch, so GPTQ's Hessian
/// costs K×K numbers whatever the number of calibration samples.
/// </summary>
internal sealed class HessianAccumulator(int k)
{
    private readonly double[] _sum = new double[k * k];
    private readonly float[] _batch = new float[k * k];

    public int K { get; } = k;
    public long Rows { get; private set; }

    /// <summary>Adds every row of a [..., K] activation tensor.</summary>
    public void Add(ReadOnlySpan<float> activations)
    {
        if (activations.Length % K != 0)
        {
            throw new InvalidDataException($"an activation of {activations.Length} values is not made of rows of {K}");
        }
        int rows = activations.Length / K;
        // Sum a batch in float with SIMD, then fold it into the double total.
        Array.Clear(_batch);
        for (int r = 0; r < rows; r++)
        {
            var x = activations.Slice(r * K, K);
            for (int i = 0; i < K; i++)
            {
                float xi = x[i];
                if (xi != 0)
                {
                    DenseMath.Axpy(xi, x[i..], _batch.AsSpan(i * K + i, K - i));
                }
            }
        }
        for (int i = 0; i < K; i++)
        {
            for (int j = i; j < K; j++)
            {
                _sum[i * K + j] += _batch[i * K + j];
            }
        }
        Rows += rows;
    }

    /// <summary>The mean of x·xᵀ, full symmetric [K, K].</summary>
    public double[] Hessian()
    {
        var hessian = new double[K * K];
        double scale = Rows == 0 ? 0 : 1.0 / Rows;
        for (int i = 0; i < K; i++)
        {
            for (int j = i; j < K; j++)
            {
                double value = _sum[i * K + j] * scale;
                hessian[i * K + j] = value;
                hessian[j * K + i] = value;
            }
        }
        return hessian;
    }
}
