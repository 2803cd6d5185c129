using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>A node whose output shapes <see cref="MacCounter"/> could not infer, and why.</summary>
public sealed record UnresolvedNode(NodeProto Node, string Reason)
{
    public override string ToString() => $"{GraphNodes.Describe(Node)}: {Reason}";
}
