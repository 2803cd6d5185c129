using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Operators whose parameters moved from attributes to inputs: the attribute values become
/// initializers fed to the new inputs, so the computation is the same.
/// </summary>
internal static class AttributeInputAdapters
{
    /// <summary>Clip-11: min and max become optional inputs of the data's type; absent means unbounded, as before.</summary>
    public static void ClipBoundsToInputs(UpgradeContext context, NodeProto node, long opset)
    {
        bool hasMin = node.HasAttribute("min");
        bool hasMax = node.HasAttribute("max");
        if (!hasMin && !hasMax)
        {
            // No bounds: no inputs either, the same unbounded Clip.
            return;
        }

        var type = DataTypeOf(context, node, opset, "min/max");
        string x = node.Input[0];
        string min = hasMin ? context.AddConstant($"{x}_clip_min", Scalar(context, node, opset, type, node.GetFloat("min"))) : "";
        string max = hasMax ? context.AddConstant($"{x}_clip_max", Scalar(context, node, opset, type, node.GetFloat("max"))) : "";
        string moved = string.Join(" and ", new[] { hasMin ? $"min={Format(node.GetFloat("min"))}" : null, hasMax ? $"max={Format(node.GetFloat("max"))}" : null }.OfType<string>());
        SetInputs(context, node, x, min, max);
        node.RemoveAttribute("min");
        node.RemoveAttribute("max");
        context.Record(node, node.OpType, opset, $"attribute {moved} moved to inputs");
    }

    /// <summary>Pad-11: pads becomes an int64 input, value an optional input of the data's type.</summary>
    public static void PadAttributesToInputs(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("pads"))
        {
            throw context.Refuse(node, opset, "it has no 'pads' attribute, which Pad before opset 11 requires");
        }

        string mode = node.GetString("mode", "constant");
        float value = node.GetFloat("value", 0f);
        string x = node.Input[0];
        string pads = context.AddConstant($"{x}_pads", TensorData.Vector(node.GetInts("pads")));
        string constantValue = "";
        if (mode == "constant" && value != 0f)
        {
            var type = DataTypeOf(context, node, opset, "value");
            constantValue = context.AddConstant($"{x}_pad_value", Scalar(context, node, opset, type, value));
        }

        if (constantValue.Length > 0)
        {
            SetInputs(context, node, x, pads, constantValue);
        }
        else
        {
            SetInputs(context, node, x, pads);
        }

        node.RemoveAttribute("pads");
        node.RemoveAttribute("value");
        context.Record(node, node.OpType, opset, "attributes pads/value moved to inputs");
    }

    /// <summary>Slice-10: starts, ends and axes become int64 inputs.</summary>
    public static void SliceAttributesToInputs(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("starts") || !node.HasAttribute("ends"))
        {
            throw context.Refuse(node, opset, "it lacks the 'starts' or 'ends' attribute that Slice before opset 10 requires");
        }

        string x = node.Input[0];
        var inputs = new List<string>
        {
            x,
            context.AddConstant($"{x}_slice_starts", TensorData.Vector(node.GetInts("starts"))),
            context.AddConstant($"{x}_slice_ends", TensorData.Vector(node.GetInts("ends"))),
        };
        if (node.HasAttribute("axes"))
        {
            inputs.Add(context.AddConstant($"{x}_slice_axes", TensorData.Vector(node.GetInts("axes"))));
        }

        SetInputs(context, node, [.. inputs]);
        node.RemoveAttribute("starts");
        node.RemoveAttribute("ends");
        node.RemoveAttribute("axes");
        context.Record(node, node.OpType, opset, "attributes starts/ends/axes moved to inputs");
    }

    /// <summary>TopK-10: k becomes a one-element int64 input.</summary>
    public static void TopKToInput(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("k"))
        {
            throw context.Refuse(node, opset, "it has no 'k' attribute, which TopK before opset 10 requires");
        }

        string k = context.AddConstant($"{node.Input[0]}_topk_k", TensorData.Create([node.GetInt("k")], 1));
        SetInputs(context, node, node.Input[0], k);
        node.RemoveAttribute("k");
        context.Record(node, node.OpType, opset, "attribute k moved to an input");
    }

    /// <summary>Squeeze-13, Unsqueeze-13, ReduceSum-13: axes becomes an optional int64 input.</summary>
    public static void AxesToInput(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("axes"))
        {
            if (node.OpType == "Unsqueeze")
            {
                throw context.Refuse(node, opset, "it has no 'axes' attribute, which Unsqueeze before opset 13 requires");
            }

            // No axes: every axis, at both opsets.
            return;
        }

        string axes = context.AddConstant($"{node.Input[0]}_{node.OpType.ToLowerInvariant()}_axes", TensorData.Vector(node.GetInts("axes")));
        SetInputs(context, node, node.Input[0], axes);
        node.RemoveAttribute("axes");
        context.Record(node, node.OpType, opset, "attribute axes moved to an input");
    }

    /// <summary>Split-13: the split sizes become an optional int64 input.</summary>
    public static void SplitToInput(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("split"))
        {
            // No sizes: equal parts, at both opsets.
            return;
        }

        string split = context.AddConstant($"{node.Input[0]}_split", TensorData.Vector(node.GetInts("split")));
        SetInputs(context, node, node.Input[0], split);
        node.RemoveAttribute("split");
        context.Record(node, node.OpType, opset, "attribute split moved to an input");
    }

    private static OnnxDataType DataTypeOf(UpgradeContext context, NodeProto node, long opset, string what)
    {
        var type = context.Types.Of(node.Input[0]);
        if (type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16)
        {
            return type;
        }

        throw context.Refuse(node, opset, type == OnnxDataType.Undefined
            ? $"the element type of its input '{node.Input[0]}' is not declared and cannot be inferred, so the {what} input cannot be typed"
            : $"its input '{node.Input[0]}' is {OnnxDataTypes.Name(type)}, but before opset {opset} this operator only took float types");
    }

    private static TensorData Scalar(UpgradeContext context, NodeProto node, long opset, OnnxDataType type, float value) => type switch
    {
        OnnxDataType.Float => TensorData.Scalar(value),
        OnnxDataType.Double => TensorData.Scalar((double)value),
        OnnxDataType.Float16 => TensorData.Scalar((Half)value),
        _ => throw context.Refuse(node, opset, $"cannot make a {OnnxDataTypes.Name(type)} constant"),
    };

    private static string Format(float value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static void SetInputs(UpgradeContext context, NodeProto node, params string[] inputs)
    {
        node.Input.Clear();
        node.Input.AddRange(inputs);
        context.Graph.Invalidate();
    }
}
