namespace EdgeRuntime.Onnx;

/// <summary>
/// Compute and size estimate of a model, from <see cref="MacCounter"/>. When
/// <see cref="IsComplete"/> is false some nodes could not be sized and <see cref="TotalMacs"/>
/// is a lower bound.
/// </summary>
public sealed class GraphCost
{
    internal GraphCost(
        long totalMacs,
        IReadOnlyList<NodeCost> nodes,
        IReadOnlyList<UnresolvedNode> unresolved,
        long parameterCount,
        long parameterBytes,
        IReadOnlyDictionary<string, long[]> shapes)
    {
        TotalMacs = totalMacs;
        Nodes = nodes;
        Unresolved = unresolved;
        ParameterCount = parameterCount;
        ParameterBytes = parameterBytes;
        Shapes = shapes;
        var byOpType = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            byOpType[node.Node.OpType] = byOpType.GetValueOrDefault(node.Node.OpType) + node.Macs;
        }

        MacsByOpType = byOpType;
    }

    /// <summary>Multiply-accumulates for one sample (symbolic batch dims count as 1).</summary>
    public long TotalMacs { get; }

    /// <summary>Every node of the main graph in topological order, resolved or not.</summary>
    public IReadOnlyList<NodeCost> Nodes { get; }

    /// <summary>Nodes whose shapes could not be inferred, with the reason; their MACs count as 0.</summary>
    public IReadOnlyList<UnresolvedNode> Unresolved { get; }

    public bool IsComplete => Unresolved.Count == 0;

    /// <summary>Elements in all initializers of the main graph.</summary>
    public long ParameterCount { get; }

    /// <summary>Bytes those elements take at their stored types.</summary>
    public long ParameterBytes { get; }

    /// <summary>Every tensor shape that was known or inferred, by tensor name.</summary>
    public IReadOnlyDictionary<string, long[]> Shapes { get; }

    public IReadOnlyDictionary<string, long> MacsByOpType { get; }
}
