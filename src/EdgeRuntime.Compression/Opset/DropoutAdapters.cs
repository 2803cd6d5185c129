using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>Dropout: its mask became bool at 10, its ratio an input at 12.</summary>
internal static class DropoutAdapters
{
    /// <summary>Dropout-10's mask output is bool where it was the data's type; a model that reads the mask cannot be kept as is.</summary>
    public static void RequireUnusedMask(UpgradeContext context, NodeProto node, long opset)
    {
        if (node.Output.Count > 1 && context.IsUsed(node.Output[1]))
        {
            throw context.Refuse(node, opset, $"its mask output '{node.Output[1]}' is used, and opset 10 changed the mask's type to bool");
        }
    }

    /// <summary>Dropout-12: ratio becomes an optional input; at inference Dropout passes data through either way.</summary>
    public static void RatioToInput(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("ratio"))
        {
            // The default ratio needs no input.
            return;
        }

        string ratio = context.AddConstant($"{node.Input[0]}_dropout_ratio", TensorData.Scalar(node.GetFloat("ratio", 0.5f)));
        string x = node.Input[0];
        node.Input.Clear();
        node.Input.Add(x);
        node.Input.Add(ratio);
        node.RemoveAttribute("ratio");
        context.Graph.Invalidate();
        context.Record(node, node.OpType, opset, "attribute ratio moved to an input");
    }
}
