using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// What <see cref="MacCounter"/> worked out for one node: its multiply-accumulates per sample
/// and the shape of its first output (null when the shape could not be inferred).
/// </summary>
public sealed record NodeCost(NodeProto Node, long Macs, IReadOnlyList<long>? OutputShape)
{
    public bool IsResolved => OutputShape is not null;
}
