using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// What an operator adapter may use while rewriting one graph: the graph, the element types and
/// ranks known for its tensors, constant values, and the log of changes.
/// </summary>
internal sealed class UpgradeContext
{
    private readonly IReadOnlyDictionary<string, long[]> _inferredShapes;
    private readonly UpgradeContext? _outer;
    private readonly List<OpsetChange> _changes;
    private readonly HashSet<NodeProto> _rewritten;

    public UpgradeContext(OnnxGraph graph, long sourceOpset, long targetOpset, IReadOnlyDictionary<string, long[]> inferredShapes, UpgradeContext? outer, List<OpsetChange> changes)
    {
        _rewritten = outer?._rewritten ?? new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        Graph = graph;
        SourceOpset = sourceOpset;
        TargetOpset = targetOpset;
        _inferredShapes = inferredShapes;
        _outer = outer;
        _changes = changes;
        Types = new ElementTypeMap(graph, outer?.Types);
    }

    public OnnxGraph Graph { get; }

    public long SourceOpset { get; }

    public long TargetOpset { get; }

    public ElementTypeMap Types { get; }

    /// <summary>A subgraph context for one of this graph's If/Loop/Scan bodies.</summary>
    public UpgradeContext ForSubgraph(GraphProto subgraph) =>
        new(new OnnxGraph(subgraph, Graph.ExternalDataDirectory), SourceOpset, TargetOpset, new Dictionary<string, long[]>(), this, _changes);

    /// <summary>Nodes rewritten so far in the model, subgraphs included.</summary>
    public int NodesRewritten => _rewritten.Count;

    public void Record(NodeProto node, string opType, long opset, string description)
    {
        _changes.Add(new OpsetChange(GraphNodes.Describe(node), opType, opset, description));
        _rewritten.Add(node);
    }

    /// <summary>The exception to throw when a node cannot be rewritten safely.</summary>
    public OpsetUpgradeException Refuse(NodeProto node, long opset, string reason) =>
        new($"Cannot upgrade {GraphNodes.Describe(node)} from opset {SourceOpset} to {TargetOpset}: {reason}",
            node.OpType, GraphNodes.Describe(node), opset);

    /// <summary>Adds a constant as an initializer of this graph under a fresh name and returns the name.</summary>
    public string AddConstant(string baseName, TensorData value)
    {
        string name = Graph.UniqueName(baseName);
        Graph.AddInitializer(value.ToProto(name));
        return name;
    }

    public void InsertBefore(NodeProto anchor, NodeProto node) => Graph.InsertNode(IndexOf(anchor), node);

    public void InsertAfter(NodeProto anchor, NodeProto node) => Graph.InsertNode(IndexOf(anchor) + 1, node);

    /// <summary>The rank of a tensor when its declared or inferred shape says it, else null.</summary>
    public int? RankOf(string name)
    {
        var declared = Graph.FindValueInfo(name)?.GetShape();
        if (declared is not null)
        {
            return declared.Count;
        }

        if (_inferredShapes.TryGetValue(name, out var inferred))
        {
            return inferred.Length;
        }

        return _outer?.RankOf(name);
    }

    /// <summary>The value of a tensor given by an initializer or a Constant node, or null.</summary>
    public TensorData? TryGetConstant(string name)
    {
        if (name.Length == 0)
        {
            return null;
        }

        if (Graph.FindInitializer(name) is { } initializer)
        {
            return TensorData.FromProto(initializer, Graph.ExternalDataDirectory);
        }

        if (Graph.GetProducer(name) is { OpType: "Constant" } constant && constant.GetTensor("value") is { } tensor)
        {
            return TensorData.FromProto(tensor, Graph.ExternalDataDirectory);
        }

        return Graph.GetProducer(name) is null && !Graph.IsGraphInput(name) ? _outer?.TryGetConstant(name) : null;
    }

    /// <summary>True when some node or subgraph reads the tensor, or it is a graph output.</summary>
    public bool IsUsed(string name) => name.Length > 0 && Graph.IsUsed(name);

    private int IndexOf(NodeProto node)
    {
        int index = Graph.IndexOf(node);
        if (index < 0)
        {
            throw new InvalidOperationException($"{GraphNodes.Describe(node)} is not in graph '{Graph.Name}'.");
        }

        return index;
    }
}
