namespace EdgeRuntime.Compression.Calibration;

/// <summary>How an activation's quantization range is chosen from what calibration saw.</summary>
public enum CalibrationMethod
{
    /// <summary>The smallest and largest values seen: no clipping, coarse steps when there are outliers.</summary>
    MinMax,
    /// <summary>Clip the rarest values: the range holds <see cref="CalibrationOptions.Percentile"/>% of them.</summary>
    Percentile,
    /// <summary>The clipping threshold whose quantized distribution is closest (KL divergence) to the float one.</summary>
    Entropy,
}

/// <summary>Calibration settings; the defaults follow ONNX Runtime's quantization tool.</summary>
public sealed record CalibrationOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.Percentile;
    /// <summary>Histogram bins for Percentile and Entropy.</summary>
    public int Bins { get; init; } = 2048;
    /// <summary>Percentage of values the range must hold, for Percentile.</summary>
    public double Percentile { get; init; } = 99.999;
    /// <summary>Quantized levels the Entropy search compares against.</summary>
    public int QuantizedBins { get; init; } = 128;
    /// <summary>Samples per inference while calibrating (where the model's batch is open).</summary>
    public int BatchSize { get; init; } = 32;

    public void Validate()
    {
        if (Bins < 16 || Bins > 1 << 16)
        {
            throw new ArgumentException($"calibration bins must be 16..65536, got {Bins}");
        }
        if (Percentile is <= 50 or > 100)
        {
            throw new ArgumentException($"calibration percentile must be in (50, 100], got {Percentile}");
        }
        if (QuantizedBins < 2 || QuantizedBins >= Bins)
        {
            throw new ArgumentException($"quantized bins must be 2..{Bins - 1}, got {QuantizedBins}");
        }
        if (BatchSize < 1)
        {
            throw new ArgumentException($"calibration batch size must be at least 1, got {BatchSize}");
        }
    }
}

/// <summary>A float range an activation is quantized over.</summary>
public readonly record struct TensorRange(float Min, float Max)
{
    public override string ToString() => $"[{Min:G5}, {Max:G5}]";
}
