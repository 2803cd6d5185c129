namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>Settings of <see cref="Int4WeightQuantizer"/>.</summary>
public sealed record Int4Options
{
    /// <summary>Weights per scale along the input dimension: 32, 64 or 128. Default: 32 (the most accurate).</summary>
    public int BlockSize { get; init; } = 32;

    /// <summary>
    /// Symmetric blocks (no zero points, a little smaller) or asymmetric (a zero point per block, more accurate
    /// for skewed blocks). Default: false, asymmetric.
    /// </summary>
    public bool Symmetric { get; init; }

    /// <summary>Default: <see cref="Int4Algorithm.RoundToNearest"/>; <see cref="Int4Algorithm.Gptq"/> needs calibration data.</summary>
    public Int4Algorithm Algorithm { get; init; } = Int4Algorithm.RoundToNearest;

    /// <summary>GPTQ: added to the Hessian's diagonal as a fraction of its mean, so it can be inverted. Default: 0.01.</summary>
    public double GptqDampening { get; init; } = 0.01;

    /// <summary>
    /// MatMulNBits' accuracy_level: 0 lets ONNX Runtime multiply in float; 4 lets it quantize the activations
    /// to int8 per block and use integer dot products (faster on CPUs, slightly less exact). Default: 4.
    /// </summary>
    public int AccuracyLevel { get; init; } = 4;

    /// <summary>Quantize Gemm nodes with constant weights as well as MatMul. Default: true.</summary>
    public bool QuantizeGemm { get; init; } = true;

    /// <summary>
    /// Store embedding tables (Gather on a constant [rows, K] float table) in 4-bit blocks too, as
    /// com.microsoft GatherBlockQuantized, which dequantizes only the rows it gathers. In a small
    /// transformer the word embeddings are half the file. Default: true.
    /// </summary>
    public bool QuantizeEmbeddings { get; init; } = true;

    /// <summary>Nodes (by name) left in float. Default: none.</summary>
    public IReadOnlyList<string> ExcludedNodes { get; init; } = [];

    /// <summary>Load the quantized model in ONNX Runtime before returning it. Default: true.</summary>
    public bool VerifyWithOnnxRuntime { get; init; } = true;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(ExcludedNodes);
        var problems = new List<string>();
        if (BlockSize is not (32 or 64 or 128))
        {
            problems.Add($"block size must be 32, 64 or 128, got {BlockSize}");
        }
        if (!Enum.IsDefined(Algorithm))
        {
            problems.Add($"unknown algorithm {(int)Algorithm}");
        }
        if (!(GptqDampening > 0 && GptqDampening < 1))
        {
            problems.Add($"GPTQ dampening must lie in (0, 1), got {GptqDampening}");
        }
        if (AccuracyLevel is < 0 or > 4)
        {
            problems.Add($"accuracy level must be 0 to 4, got {AccuracyLevel}");
        }
        if (ExcludedNodes.Any(string.IsNullOrWhiteSpace))
        {
            problems.Add("an excluded node name is empty");
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException($"int4-weight: {string.Join("; ", problems)}");
        }
    }
}
