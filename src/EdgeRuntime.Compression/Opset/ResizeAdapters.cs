using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Upsample (scales as an attribute until opset 9, deprecated at 10) becomes Resize, and Resize-10
/// gains the explicit coordinate and rounding modes of Resize-11 that reproduce its behaviour.
/// </summary>
internal static class ResizeAdapters
{
    /// <summary>Upsample-9: the scales attribute becomes a float input.</summary>
    public static void UpsampleScalesToInput(UpgradeContext context, NodeProto node, long opset)
    {
        CheckMode(context, node, opset);
        if (!node.HasAttribute("scales"))
        {
            throw context.Refuse(node, opset, "it has no 'scales' attribute, which Upsample before opset 9 requires");
        }

        string x = node.Input[0];
        string scales = context.AddConstant($"{x}_scales", TensorData.Vector(node.GetFloats("scales")));
        node.Input.Clear();
        node.Input.Add(x);
        node.Input.Add(scales);
        node.RemoveAttribute("scales");
        context.Graph.Invalidate();
        context.Record(node, "Upsample", opset, "attribute scales moved to an input");
    }

    /// <summary>Upsample-10 is deprecated; Resize-10 has the same inputs and meaning.</summary>
    public static void UpsampleToResize(UpgradeContext context, NodeProto node, long opset)
    {
        CheckMode(context, node, opset);
        node.OpType = "Resize";
        context.Record(node, "Upsample", opset, "replaced by Resize, which has the same inputs and meaning at opset 10");
    }

    /// <summary>
    /// Resize-11: inputs (X, scales) become (X, roi, scales). Resize-10 maps output to input
    /// coordinates as x_out / scale ("asymmetric"), and for nearest it truncates when enlarging
    /// and rounds up when shrinking (what ONNX Runtime does at opset 10), so those modes are set
    /// explicitly; the opset-11 defaults (half_pixel, round_prefer_floor) would move pixels.
    /// </summary>
    public static void ResizeModesExplicit(UpgradeContext context, NodeProto node, long opset)
    {
        string mode = CheckMode(context, node, opset);
        if (node.Input.Count != 2 || node.Input[1].Length == 0)
        {
            throw context.Refuse(node, opset, $"Resize before opset 11 takes exactly the inputs X and scales, this node has {node.Input.Count}");
        }

        string nearestMode = "";
        if (mode == "nearest")
        {
            if (context.TryGetConstant(node.Input[1]) is not { } scalesValue || scalesValue.DataType != OnnxDataType.Float)
            {
                throw context.Refuse(node, opset,
                    $"its scales '{node.Input[1]}' are computed at run time, and nearest rounding differs between enlarging and shrinking, so the rounding mode cannot be chosen");
            }

            float[] scales = scalesValue.ToFloatArray();
            bool enlarges = scales.All(scale => scale >= 1f);
            bool shrinks = scales.All(scale => scale <= 1f);
            if (!enlarges && !shrinks)
            {
                throw context.Refuse(node, opset,
                    $"its scales [{string.Join(", ", scales)}] enlarge some axes and shrink others, which no single opset-11 rounding mode reproduces for nearest");
            }

            nearestMode = enlarges ? "floor" : "ceil";
            node.SetString("nearest_mode", nearestMode);
        }

        string x = node.Input[0];
        string scalesName = node.Input[1];
        string roi = context.AddConstant($"{x}_roi", TensorData.Create(Array.Empty<float>(), 0));
        node.Input.Clear();
        node.Input.Add(x);
        node.Input.Add(roi);
        node.Input.Add(scalesName);
        node.SetString("mode", mode);
        node.SetString("coordinate_transformation_mode", "asymmetric");
        context.Graph.Invalidate();
        context.Record(node, node.OpType, opset,
            $"empty roi input added; coordinate_transformation_mode=asymmetric{(nearestMode.Length > 0 ? $", nearest_mode={nearestMode}" : "")} keep the opset-10 behaviour");
    }

    private static string CheckMode(UpgradeContext context, NodeProto node, long opset)
    {
        string mode = node.GetString("mode", "nearest");
        if (mode is not ("nearest" or "linear"))
        {
            throw context.Refuse(node, opset, $"mode '{mode}' is not one of the standard modes 'nearest' and 'linear'");
        }

        return mode;
    }
}
