using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>What pruning did to one layer.</summary>
public sealed record LayerPruneReport(string Layer, string OpType, long Weights, long Zeros, int Outputs, int OutputsKept, int Columns, int ColumnsKept)
{
    public double Sparsity => Weights == 0 ? 0 : (double)Zeros / Weights;
}

/// <summary>The pruned model, what was applied (for the bundle manifest) and what was left alone and why.</summary>
public sealed record PruneResult(
    OnnxModel Model,
    IReadOnlyList<string> Applied,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<LayerPruneReport> Layers,
    double Sparsity,
    double ChannelsKept)
{
    /// <summary>Channel groups the dependency analysis could not prune safely, with the reason; empty for unstructured pruning.</summary>
    public IReadOnlyList<string> LeftAlone { get; init; } = [];
}
