using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// One place a tensor is read: input <see cref="InputIndex"/> of <see cref="Node"/>, or,
/// when <see cref="InputIndex"/> is -1, somewhere inside one of the node's subgraphs.
/// </summary>
public readonly record struct TensorUse(NodeProto Node, int InputIndex)
{
    public const int SubgraphInputIndex = -1;

    public bool IsSubgraphUse => InputIndex == SubgraphInputIndex;
}
