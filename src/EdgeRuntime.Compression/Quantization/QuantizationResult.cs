using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>A quantized model and what the quantizer decided, for the manifest and the user.</summary>
public sealed record QuantizationResult(OnnxModel Model, QuantizationMode Mode)
{
    /// <summary>Compute nodes deliberately left in float (sensitive, excluded, or unsupported).</summary>
    public IReadOnlyList<string> FloatNodes { get; init; } = [];

    /// <summary>Lines for the manifest's "applied" list: mode, calibration, weight range, ...</summary>
    public IReadOnlyList<string> Applied { get; init; } = [];

    /// <summary>Things the user should know: ops left in float and why, ranges that looked odd.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Nodes that were quantized.</summary>
    public int QuantizedNodes { get; init; }

    /// <summary>Of <see cref="QuantizedNodes"/>, those inside If/Loop/Scan bodies.</summary>
    public int QuantizedInSubgraphs { get; init; }
}
