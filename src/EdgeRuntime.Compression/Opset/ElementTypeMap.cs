using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Element types of the tensors of one graph: declared ones (inputs, outputs, value infos,
/// initializers, Constant nodes) and those that follow from common operators. Rewrites that turn
/// an attribute into a typed input (Clip's min/max, Pad's value) need the type of the data.
/// </summary>
internal sealed class ElementTypeMap
{
    // Operators whose outputs all have the element type of their first input.
    private static readonly HashSet<string> SameAsFirstInput = new(StringComparer.Ordinal)
    {
        "Abs", "Acos", "Acosh", "Add", "Asin", "Asinh", "Atan", "Atanh", "AveragePool", "BatchNormalization", "Ceil", "Celu",
        "Clip", "Compress", "Concat", "Conv", "ConvTranspose", "Cos", "Cosh", "CumSum", "DepthToSpace", "Div", "Elu", "Erf",
        "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements", "GatherND", "Gemm", "GlobalAveragePool",
        "GlobalLpPool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Hardmax", "Identity", "InstanceNormalization", "LRN",
        "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "LpPool", "MatMul", "Max", "Mean", "MeanVarianceNormalization",
        "Min", "Mod", "Mul", "Neg", "PRelu", "Pad", "Pow", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare", "Relu",
        "Reshape", "Resize", "ReverseSequence", "Round", "Scatter", "ScatterElements", "ScatterND", "Selu", "Shrink",
        "Sigmoid", "Sign", "Sin", "Sinh", "Slice", "Softmax", "Softplus", "Softsign", "SpaceToDepth", "Split", "Sqrt",
        "Squeeze", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Tile", "Transpose", "Unsqueeze", "Upsample",
    };

    private static readonly HashSet<string> BoolResult = new(StringComparer.Ordinal)
    {
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf",
    };

    private static readonly HashSet<string> Int64Result = new(StringComparer.Ordinal)
    {
        "Shape", "Size", "ArgMax", "ArgMin", "NonZero", "NonMaxSuppression",
    };

    private readonly Dictionary<string, OnnxDataType> _types = new(StringComparer.Ordinal);
    private readonly ElementTypeMap? _outer;

    public ElementTypeMap(OnnxGraph graph, ElementTypeMap? outer)
    {
        _outer = outer;
        foreach (var info in graph.Inputs.Concat(graph.Outputs).Concat(graph.ValueInfos))
        {
            if (info.GetElementType() is var type and not OnnxDataType.Undefined)
            {
                _types[info.Name] = type;
            }
        }

        foreach (var initializer in graph.Initializers)
        {
            _types[initializer.Name] = (OnnxDataType)initializer.DataType;
        }

        IReadOnlyList<NodeProto> order;
        try
        {
            order = graph.TopologicalOrder();
        }
        catch (InvalidOperationException)
        {
            order = graph.Nodes;
        }

        foreach (var node in order)
        {
            Propagate(node);
        }
    }

    /// <summary>The element type of a tensor, or <see cref="OnnxDataType.Undefined"/> when it cannot be told.</summary>
    public OnnxDataType Of(string name)
    {
        if (_types.TryGetValue(name, out var type))
        {
            return type;
        }

        return _outer?.Of(name) ?? OnnxDataType.Undefined;
    }

    private void Propagate(NodeProto node)
    {
        if (node.Domain is not ("" or "ai.onnx") || node.Output.Count == 0)
        {
            return;
        }

        string op = node.OpType;
        OnnxDataType first = node.Input.Count > 0 && node.Input[0].Length > 0 ? Of(node.Input[0]) : OnnxDataType.Undefined;
        if (SameAsFirstInput.Contains(op))
        {
            foreach (string output in node.Output)
            {
                Set(output, first);
            }

            // Dropout, MaxPool and TopK have a second output of another type; only the first follows the data.
            return;
        }

        switch (op)
        {
            case "Dropout" or "MaxPool":
                Set(node.Output[0], first);
                break;
            case "TopK":
                Set(node.Output[0], first);
                if (node.Output.Count > 1)
                {
                    Set(node.Output[1], OnnxDataType.Int64);
                }

                break;
            case "Cast":
                Set(node.Output[0], (OnnxDataType)node.GetInt("to"));
                break;
            case "CastLike":
                Set(node.Output[0], node.Input.Count > 1 ? Of(node.Input[1]) : OnnxDataType.Undefined);
                break;
            case "Where":
                Set(node.Output[0], node.Input.Count > 1 ? Of(node.Input[1]) : OnnxDataType.Undefined);
                break;
            case "Constant":
                Set(node.Output[0], ConstantType(node));
                break;
            case "ConstantOfShape":
                Set(node.Output[0], node.GetTensor("value") is { } value ? (OnnxDataType)value.DataType : OnnxDataType.Float);
                break;
            case "DequantizeLinear":
                Set(node.Output[0], OnnxDataType.Float);
                break;
            case "QuantizeLinear":
                Set(node.Output[0], node.Input.Count > 2 && node.Input[2].Length > 0 ? Of(node.Input[2]) : OnnxDataType.UInt8);
                break;
            default:
                if (BoolResult.Contains(op))
                {
                    Set(node.Output[0], OnnxDataType.Bool);
                }
                else if (Int64Result.Contains(op))
                {
                    Set(node.Output[0], OnnxDataType.Int64);
                }

                break;
        }
    }

    private static OnnxDataType ConstantType(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            switch (attribute.Name)
            {
                case "value" when attribute.T is not null:
                    return (OnnxDataType)attribute.T.DataType;
                case "sparse_value" when attribute.SparseTensor?.Values is not null:
                    return (OnnxDataType)attribute.SparseTensor.Values.DataType;
                case "value_float" or "value_floats":
                    return OnnxDataType.Float;
                case "value_int" or "value_ints":
                    return OnnxDataType.Int64;
                case "value_string" or "value_strings":
                    return OnnxDataType.String;
            }
        }

        return OnnxDataType.Undefined;
    }

    private void Set(string name, OnnxDataType type)
    {
        if (name.Length > 0 && type != OnnxDataType.Undefined && !_types.ContainsKey(name))
        {
            _types[name] = type;
        }
    }
}
