using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// For every standard operator whose schema changed between opsets 8 and
/// <see cref="OperatorVersions.HighestKnownOpset"/>: whether the change keeps the meaning of every
/// model valid before it (types added, new attributes whose defaults match the old behaviour,
/// negative axes allowed) or needs a rewrite, and which. A change listed in neither is refused.
/// </summary>
internal static class OpTransitions
{
    private static readonly Dictionary<long, string[]> Compatible = new()
    {
        [8] = ["Max", "MaxPool", "Mean", "Min", "Sum"],
        [9] = ["Cast", "Constant", "Flatten", "Gemm", "Greater", "Less", "MatMul", "PRelu"],
        [10] = ["AveragePool", "MaxPool"],
        [11] =
        [
            "ArgMax", "ArgMin", "AveragePool", "Compress", "Concat", "Constant", "Conv", "ConvTranspose", "DepthToSpace", "Equal",
            "Flatten", "Gather", "Gemm", "Hardmax", "If", "LogSoftmax", "Loop", "LpPool", "MaxPool", "MaxUnpool",
            "NonMaxSuppression", "OneHot", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
            "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Scan", "Slice", "Softmax", "Split", "Squeeze", "TopK",
            "Unsqueeze",
        ],
        [12] = ["ArgMax", "ArgMin", "Clip", "Constant", "GatherND", "Max", "MaxPool", "Min", "Pow", "ReduceMax", "ReduceMin"],
        [13] =
        [
            "Abs", "Add", "ArgMax", "ArgMin", "Cast", "Ceil", "Clip", "Concat", "Constant", "DepthToSpace", "DequantizeLinear", "Div",
            "Dropout", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gemm",
            "Greater", "Identity", "If", "IsNaN", "LRN", "Less", "Log", "Loop", "MatMul", "Max", "Mean",
            "MeanVarianceNormalization", "Min", "Mod", "Mul", "Neg", "NegativeLogLikelihoodLoss", "NonZero", "Pad", "Pow",
            "QuantizeLinear", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
            "ReduceMin", "ReduceProd", "ReduceSumSquare", "Relu", "Reshape", "Resize", "ScatterElements", "ScatterND", "Shape",
            "Sigmoid", "Sign", "Size", "Slice", "SoftmaxCrossEntropyLoss", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tanh", "Tile",
            "Transpose",
        ],
        // GRU, LSTM and RNN gain 'layout' at 14; its default 0 is the old layout.
        [14] = ["Add", "CumSum", "Div", "GRU", "Identity", "LSTM", "Mul", "RNN", "Relu", "Reshape", "Sub"],
        [15] = ["BatchNormalization", "Pow", "Shape"],
        [16] =
        [
            "GreaterOrEqual", "Identity", "If", "LeakyRelu", "LessOrEqual", "Loop", "PRelu", "Scan", "ScatterElements",
            "ScatterND", "Where",
        ],
    };

    private static readonly Dictionary<(string Op, long Opset), OpAdapter> Adapters = new()
    {
        [("BatchNormalization", 9)] = BatchNormalizationAdapters.DropSpatial,
        [("Upsample", 9)] = ResizeAdapters.UpsampleScalesToInput,
        [("Scan", 9)] = (context, node, opset) =>
            throw context.Refuse(node, opset, "Scan-8 iterates with a batch axis and sequence lengths that Scan-9 dropped; re-export the model at opset 9 or later"),
        [("Dropout", 10)] = DropoutAdapters.RequireUnusedMask,
        [("Slice", 10)] = AttributeInputAdapters.SliceAttributesToInputs,
        [("TopK", 10)] = AttributeInputAdapters.TopKToInput,
        [("Upsample", 10)] = ResizeAdapters.UpsampleToResize,
        [("Clip", 11)] = AttributeInputAdapters.ClipBoundsToInputs,
        [("Pad", 11)] = AttributeInputAdapters.PadAttributesToInputs,
        [("Resize", 11)] = ResizeAdapters.ResizeModesExplicit,
        [("Scatter", 11)] = RenameScatter,
        [("Dropout", 12)] = DropoutAdapters.RatioToInput,
        [("Softmax", 13)] = SoftmaxAxisAdapter.Adapt,
        [("LogSoftmax", 13)] = SoftmaxAxisAdapter.Adapt,
        [("Hardmax", 13)] = SoftmaxAxisAdapter.Adapt,
        [("Squeeze", 13)] = AttributeInputAdapters.AxesToInput,
        [("Unsqueeze", 13)] = AttributeInputAdapters.AxesToInput,
        [("ReduceSum", 13)] = AttributeInputAdapters.AxesToInput,
        [("Split", 13)] = AttributeInputAdapters.SplitToInput,
        [("BatchNormalization", 14)] = BatchNormalizationAdapters.RequireInferenceMode,
        [("RoiAlign", 16)] = DefaultRoiAlignCoordinates,
    };

    private static readonly HashSet<(string Op, long Opset)> CompatibleSet =
        Compatible.SelectMany(pair => pair.Value.Select(op => (op, pair.Key))).ToHashSet();

    /// <summary>The rewrite for a change, a no-op for compatible changes, or null when the change is not covered.</summary>
    public static OpAdapter? Find(string opType, long opset)
    {
        if (Adapters.TryGetValue((opType, opset), out var adapter))
        {
            return adapter;
        }

        return CompatibleSet.Contains((opType, opset)) ? static (_, _, _) => { } : null;
    }

    /// <summary>Scatter is deprecated at 11; ScatterElements-11 has the same inputs and meaning.</summary>
    private static void RenameScatter(UpgradeContext context, NodeProto node, long opset)
    {
        node.OpType = "ScatterElements";
        context.Record(node, "Scatter", opset, "replaced by ScatterElements, which has the same meaning");
    }

    /// <summary>RoiAlign-16 defaults to half_pixel coordinates; older versions behaved as output_half_pixel.</summary>
    private static void DefaultRoiAlignCoordinates(UpgradeContext context, NodeProto node, long opset)
    {
        if (!node.HasAttribute("coordinate_transformation_mode"))
        {
            node.SetString("coordinate_transformation_mode", "output_half_pixel");
            context.Record(node, node.OpType, opset, "coordinate_transformation_mode=output_half_pixel keeps the old default");
        }
    }
}
