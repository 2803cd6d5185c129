using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>The upgraded copy of a model and what was changed on the way.</summary>
public sealed class OpsetUpgradeResult
{
    internal OpsetUpgradeResult(OnnxModel model, long fromOpset, long toOpset, long fromIrVersion, IReadOnlyList<OpsetChange> changes, int nodesChecked, int nodesRewritten)
    {
        Model = model;
        FromOpset = fromOpset;
        ToOpset = toOpset;
        FromIrVersion = fromIrVersion;
        Changes = changes;
        NodesChecked = nodesChecked;
        NodesRewritten = nodesRewritten;
    }

    /// <summary>The upgraded model (a copy: the input model is left as it was).</summary>
    public OnnxModel Model { get; }

    public long FromOpset { get; }

    public long ToOpset { get; }

    public long FromIrVersion { get; }

    public long ToIrVersion => Model.IrVersion;

    /// <summary>Every rewrite, in the order made; nodes whose operator did not change meaning are not listed.</summary>
    public IReadOnlyList<OpsetChange> Changes { get; }

    /// <summary>Standard-domain nodes looked at, subgraphs included.</summary>
    public int NodesChecked { get; }

    /// <summary>Nodes that were rewritten (a node may be rewritten at several opset steps, e.g. Upsample to Resize).</summary>
    public int NodesRewritten { get; }

    /// <summary>Rewrites per operator (as named before each rewrite), e.g. Clip: 18.</summary>
    public IReadOnlyDictionary<string, int> ChangesByOpType =>
        Changes.GroupBy(change => change.OpType, StringComparer.Ordinal)
            .OrderBy(group => group.Key, StringComparer.Ordinal)
            .ToDictionary(group => group.Key, group => group.Count(), StringComparer.Ordinal);
}
