namespace EdgeRuntime.Compression.Quantization.Dynamic;

/// <summary>Settings of <see cref="DynamicInt8Quantizer"/>; the defaults suit transformer and RNN-style models.</summary>
public sealed record DynamicOptions
{
    /// <summary>One weight scale per output column (true) or one per matrix. Default: true (costs nothing at run time).</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>Full or 7-bit weights. Default: <see cref="Int8WeightRange.Auto"/>, decided by <see cref="Platform"/>.</summary>
    public Int8WeightRange WeightRange { get; init; } = Int8WeightRange.Auto;

    /// <summary>The CPU the model is meant for, when <see cref="WeightRange"/> is Auto. Default: null, the machine quantizing.</summary>
    public Int8Platform? Platform { get; init; }

    /// <summary>Quantize Gemm nodes with constant weights as well as MatMul. Default: true.</summary>
    public bool QuantizeGemm { get; init; } = true;

    /// <summary>
    /// Quantize Conv too (ConvInteger, per-tensor weights, the only form ONNX Runtime's CPU kernel takes).
    /// Default: false, because ConvInteger runs several times slower than float Conv here; use int8 static for CNNs.
    /// </summary>
    public bool QuantizeConvolutions { get; init; }

    /// <summary>Nodes (by name) left in float. Default: none.</summary>
    public IReadOnlyList<string> ExcludedNodes { get; init; } = [];

    /// <summary>Load the quantized model in ONNX Runtime before returning it. Default: true.</summary>
    public bool VerifyWithOnnxRuntime { get; init; } = true;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(ExcludedNodes);
        if (!Enum.IsDefined(WeightRange))
        {
            throw new ArgumentException($"int8-dynamic: unknown weight range {(int)WeightRange}");
        }
        if (ExcludedNodes.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("int8-dynamic: an excluded node name is empty");
        }
    }

    internal bool ResolveReducedRange() => WeightRange switch
    {
        Int8WeightRange.Full => false,
        Int8WeightRange.Reduced => true,
        _ => (Platform ?? Int8Platform.Detect()).PrefersReducedRange,
    };
}
