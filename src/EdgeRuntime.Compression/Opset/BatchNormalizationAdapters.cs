using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>BatchNormalization: legacy attributes dropped at 9, training outputs removed at 14.</summary>
internal static class BatchNormalizationAdapters
{
    /// <summary>BatchNormalization-9 has no 'spatial' attribute: it always normalises per channel (spatial=1).</summary>
    public static void DropSpatial(UpgradeContext context, NodeProto node, long opset)
    {
        if (node.HasAttribute("spatial") && node.GetInt("spatial", 1) != 1)
        {
            throw context.Refuse(node, opset, "spatial=0 (statistics per activation, not per channel) has no equivalent from opset 9 on");
        }

        if (node.HasAttribute("is_test") && node.GetInt("is_test") == 0)
        {
            throw context.Refuse(node, opset, "is_test=0 asks for training mode, which this inference upgrade does not convert");
        }

        var dropped = new List<string>();
        foreach (string legacy in new[] { "spatial", "consumed_inputs", "is_test" })
        {
            if (node.RemoveAttribute(legacy))
            {
                dropped.Add(legacy);
            }
        }

        context.Record(node, node.OpType, opset, dropped.Count > 0
            ? $"legacy attribute {string.Join(", ", dropped)} dropped (per-channel statistics, as before)"
            : "per-channel statistics: same meaning");
    }

    /// <summary>BatchNormalization-14 returns running statistics only in training mode; inference nodes have one output.</summary>
    public static void RequireInferenceOutputs(UpgradeContext context, NodeProto node, long opset)
    {
        for (int i = 1; i < node.Output.Count; i++)
        {
            if (context.IsUsed(node.Output[i]))
            {
                throw context.Refuse(node, opset, $"its training output '{node.Output[i]}' is used, and opset 14 changed the training outputs");
            }
        }

        while (node.Output.Count > 1)
        {
            node.Output.RemoveAt(node.Output.Count - 1);
        }

        context.Graph.Invalidate();
    }
}
