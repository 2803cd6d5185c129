using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Raises a model's standard-domain opset (real models arrive at opset 8 to 11; the quantizers
/// need 13). Every standard node is checked against the ONNX operator changelog: operators whose
/// schema did not change, or changed compatibly, stay as they are; those whose signature changed
/// are rewritten to keep their meaning (attributes that became inputs, Softmax's axis semantics,
/// Upsample to Resize, ...); anything else stops the upgrade with an
/// <see cref="OpsetUpgradeException"/> naming the node, the operator and the opset. A wrong model
/// is never produced.
/// </summary>
public static class OpsetUpgrader
{
    /// <summary>The oldest source opset handled (opset 7 introduced today's broadcasting rules).</summary>
    public const long MinimumSourceOpset = 7;

    public const long MaximumTargetOpset = OperatorVersions.HighestKnownOpset;

    public const long DefaultTargetOpset = 13;

    /// <summary>
    /// Returns an upgraded copy of <paramref name="model"/>; the model itself is not changed.
    /// A model already at <paramref name="targetOpset"/> comes back as an unchanged copy.
    /// </summary>
    /// <exception cref="OpsetUpgradeException">A node cannot be upgraded safely, or the opsets are out of range.</exception>
    public static OpsetUpgradeResult Upgrade(OnnxModel model, long targetOpset = DefaultTargetOpset)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (targetOpset < MinimumSourceOpset || targetOpset > MaximumTargetOpset)
        {
            throw new OpsetUpgradeException(
                $"Target opset {targetOpset} is outside the range this upgrader knows ({MinimumSourceOpset} to {MaximumTargetOpset}).");
        }

        long source = model.OpsetFor("")
            ?? throw new OpsetUpgradeException("The model imports no standard ONNX opset (domain \"\" or \"ai.onnx\"), so there is nothing to upgrade from.");
        if (source > targetOpset)
        {
            throw new OpsetUpgradeException(
                $"The model is at opset {source}, above the target {targetOpset}; downgrading is not supported.");
        }

        if (source < MinimumSourceOpset)
        {
            throw new OpsetUpgradeException(
                $"The model is at opset {source}; models older than opset {MinimumSourceOpset} (legacy broadcast attributes) are not upgraded. Re-export it at a newer opset.");
        }

        if (model.Proto.Functions.Count > 0)
        {
            throw new OpsetUpgradeException(
                $"The model defines {model.Proto.Functions.Count} local function(s) ({string.Join(", ", model.Proto.Functions.Select(f => f.Name))}), whose bodies this upgrader does not convert.");
        }

        var upgraded = model.Clone();
        long fromIr = upgraded.IrVersion;
        var changes = new List<OpsetChange>();
        int nodesChecked = 0;
        int nodesRewritten = 0;
        if (source < targetOpset)
        {
            var context = new UpgradeContext(upgraded.Graph, source, targetOpset, InferShapes(upgraded), null, changes);
            nodesChecked = UpgradeGraph(context);
            nodesRewritten = context.NodesRewritten;
            upgraded.SetOpset("", targetOpset);
            // Every adapter that adds initializers works at opset 9 or later, where IR 4 lets initializers stand alone.
            upgraded.IrVersion = Math.Max(upgraded.IrVersion, MinimumIrVersion(targetOpset));
        }

        return new OpsetUpgradeResult(upgraded, source, targetOpset, fromIr, changes, nodesChecked, nodesRewritten);
    }

    /// <summary>Upgrades every standard node of a graph and of its subgraphs; returns how many were checked.</summary>
    private static int UpgradeGraph(UpgradeContext context)
    {
        int checkedNodes = 0;
        foreach (var node in context.Graph.Nodes.ToList())
        {
            if (node.Domain is "" or "ai.onnx")
            {
                UpgradeNode(context, node);
                checkedNodes++;
            }

            foreach (var subgraph in node.GetSubgraphs().ToList())
            {
                checkedNodes += UpgradeGraph(context.ForSubgraph(subgraph));
            }
        }

        return checkedNodes;
    }

    private static void UpgradeNode(UpgradeContext context, NodeProto node)
    {
        if (!OperatorVersions.IsKnown(node.OpType))
        {
            throw new OpsetUpgradeException(
                $"Cannot upgrade {GraphNodes.Describe(node)}: '{node.OpType}' is not a standard ONNX operator up to opset {MaximumTargetOpset} (an experimental or misspelt op?), so whether its meaning changes is unknown.",
                node.OpType, GraphNodes.Describe(node));
        }

        if (OperatorVersions.SchemaVersion(node.OpType, context.SourceOpset) is null)
        {
            throw new OpsetUpgradeException(
                $"Cannot upgrade {GraphNodes.Describe(node)}: '{node.OpType}' does not exist at the model's opset {context.SourceOpset}, so the model is not valid as it is.",
                node.OpType, GraphNodes.Describe(node), context.SourceOpset);
        }

        long version = context.SourceOpset;
        while (OperatorVersions.NextChange(node.OpType, version, context.TargetOpset) is long step)
        {
            var adapter = OpTransitions.Find(node.OpType, step)
                ?? throw context.Refuse(node, step, $"'{node.OpType}' changed meaning at opset {step} and this upgrader has no rewrite for it");
            adapter(context, node, step);
            // An adapter may replace the operator (Upsample -> Resize); continue from the same opset with the new one.
            version = step;
        }
    }

    /// <summary>
    /// Shapes of the main graph, used only for ranks (to prove that a Softmax axis is the last one).
    /// Open dims count as 1 in the shape inference, which can stop at a pooling window; a second
    /// pass with open dims set large fills what the first could not. Ranks do not depend on sizes.
    /// </summary>
    private static IReadOnlyDictionary<string, long[]> InferShapes(OnnxModel model)
    {
        var shapes = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var large = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var input in model.Graph.RuntimeInputs)
        {
            if (input.GetShape() is { } declared)
            {
                large[input.Name] = [.. declared.Select(dim => dim.Value ?? 224)];
            }
        }

        foreach (var inputShapes in new[] { null, large })
        {
            try
            {
                foreach (var (name, shape) in MacCounter.Count(model, inputShapes).Shapes)
                {
                    shapes.TryAdd(name, shape);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OnnxFormatException or NotSupportedException or ArgumentException)
            {
                // Without shapes, Softmax-like nodes get the general rewrite, which is always correct.
            }
        }

        return shapes;
    }

    /// <summary>The IR version that the ONNX release introducing <paramref name="opset"/> wrote.</summary>
    private static long MinimumIrVersion(long opset) => opset switch
    {
        <= 8 => 3,
        9 => 4,
        10 => 5,
        11 => 6,
        <= 14 => 7,
        _ => 8,
    };
}
