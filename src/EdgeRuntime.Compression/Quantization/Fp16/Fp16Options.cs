namespace EdgeRuntime.Compression.Quantization.Fp16;

/// <summary>What <see cref="Fp16Converter"/> keeps in float32.</summary>
public sealed record Fp16Options
{
    /// <summary>Op types kept in float32, each with the reason given in warnings. Default: <see cref="Fp16BlockList.Default"/>.</summary>
    public IReadOnlyDictionary<string, string> BlockedOps { get; init; } = Fp16BlockList.Default;

    /// <summary>Nodes (by name) kept in float32 whatever their op. Default: none.</summary>
    public IReadOnlyList<string> ExcludedNodes { get; init; } = [];

    /// <summary>Load the converted model in ONNX Runtime before returning it, so a broken model is never handed out. Default: true.</summary>
    public bool VerifyWithOnnxRuntime { get; init; } = true;

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(BlockedOps);
        ArgumentNullException.ThrowIfNull(ExcludedNodes);
        if (BlockedOps.Keys.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("fp16: a blocked op type is empty");
        }
        if (ExcludedNodes.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("fp16: an excluded node name is empty");
        }
    }
}
