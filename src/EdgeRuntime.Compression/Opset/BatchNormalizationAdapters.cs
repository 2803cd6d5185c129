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

        if (dropped.Count > 0)
        {
            context.Record(node, node.OpType, opset, $"legacy attribute {string.Join(", ", dropped)} dropped (per-channel statistics, as before)");
        }
    }

    /// <summary>
    /// Before opset 14 the number of outputs chooses the mode: five outputs mean training (batch
    /// statistics, which ONNX Runtime then uses), one means inference. BatchNormalization-14 chooses
    /// by an attribute and has other training outputs, so only inference nodes pass unchanged.
    /// </summary>
    public static void RequireInferenceMode(UpgradeContext context, NodeProto node, long opset)
    {
        if (node.Output.Count(output => output.Length > 0) > 1)
        {
            throw context.Refuse(node, opset,
                $"it has {node.Output.Count} outputs, which before opset 14 means training mode (batch statistics); opset 14 redefined training mode and its outputs");
        }
    }
}
