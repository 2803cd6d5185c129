using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Forward shape propagation over common ONNX ops, with the multiply-accumulate count of each
/// node. Also tracks the values of small integer tensors, because Reshape, Squeeze, Slice and
/// friends take their parameters from tensors computed by Shape/Gather/Concat chains. The rules
/// of each op family live in ShapeRules/, one file per family, and are looked up by op type.
/// </summary>
internal sealed partial class ShapeInference
{
    // Integer tensors up to this many elements are tracked by value (shapes, axes, indices).
    private const int MaxTrackedValues = 64;

    private readonly Dictionary<string, long[]> _shapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _values = new(StringComparer.Ordinal);
    // Small float tensors (Resize and Upsample scales).
    private readonly Dictionary<string, float[]> _floatValues = new(StringComparer.Ordinal);
    private readonly long _opset;

    public ShapeInference(long opset)
    {
        _opset = opset;
    }

    public Dictionary<string, long[]> Shapes => _shapes;

    public void SetShape(string name, long[] shape) => _shapes[name] = shape;

    public void SetValues(string name, long[] values)
    {
        if (values.Length <= MaxTrackedValues)
        {
            _values[name] = values;
        }
    }

    public long[]? ShapeOf(string name) => _shapes.GetValueOrDefault(name);

    /// <summary>The rule of each standard op, gathered from the op families (one file each); an op not here is not one the MAC counter knows.</summary>
    private static readonly Dictionary<string, Func<ShapeInference, NodeProto, long>> Rules = BuildRules();

    private static Dictionary<string, Func<ShapeInference, NodeProto, long>> BuildRules()
    {
        var rules = new Dictionary<string, Func<ShapeInference, NodeProto, long>>(StringComparer.Ordinal);
        foreach (var (ops, rule) in ElementwiseRules().Concat(ReductionRules()).Concat(MatrixRules()).Concat(ConvolutionRules()).Concat(TensorRules()).Concat(ControlFlowRules()))
        {
            foreach (string op in ops)
            {
                if (!rules.TryAdd(op, rule))
                {
                    throw new InvalidOperationException($"two shape rules for op '{op}'");
                }
            }
        }
        return rules;
    }

    /// <summary>Sets the node's output shapes and returns its MACs, or throws <see cref="UnresolvedShapeException"/>.</summary>
    public long Infer(NodeProto node)
    {
        if (node.Domain == "com.microsoft" && node.OpType == "DynamicQuantizeLSTM")
        {
            return Recurrent(node, 4, transposedWeights: true);
        }

        if (node.Domain is not ("" or "ai.onnx"))
        {
            throw new UnresolvedShapeException($"op '{node.Domain}.{node.OpType}' is outside the standard domain, so its shape is unknown");
        }

        return Rules.TryGetValue(node.OpType, out var rule)
            ? rule(this, node)
            : throw new UnresolvedShapeException($"op '{node.OpType}' is not one the MAC counter knows");
    }

    // ---- helpers ----

    private static bool HasInput(NodeProto node, int index) => index < node.Input.Count && node.Input[index].Length > 0;

    private long[] InputShape(NodeProto node, int index)
    {
        if (!HasInput(node, index))
        {
            throw new UnresolvedShapeException($"input {index} is missing");
        }

        string name = node.Input[index];
        return _shapes.TryGetValue(name, out var shape)
            ? shape
            : throw new UnresolvedShapeException($"the shape of input '{name}' is unknown");
    }

    private long[] InputValues(NodeProto node, int index)
    {
        if (!HasInput(node, index))
        {
            throw new UnresolvedShapeException($"input {index} is missing");
        }

        string name = node.Input[index];
        return _values.TryGetValue(name, out var values)
            ? values
            : throw new UnresolvedShapeException($"input '{name}' is not a constant the counter can evaluate");
    }

    private void SetOutput(NodeProto node, int index, long[] shape)
    {
        if (index < node.Output.Count && node.Output[index].Length > 0)
        {
            _shapes[node.Output[index]] = shape;
        }
    }

    public void TrackTensorValues(string name, TensorProto tensor, string? externalDataDirectory)
    {
        var type = (OnnxDataType)tensor.DataType;
        if (type == OnnxDataType.Float && tensor.Dims.Count <= 1 && (tensor.Dims.Count == 0 || tensor.Dims[0] <= 8))
        {
            try
            {
                _floatValues[name] = TensorData.FromProto(tensor, externalDataDirectory).ToFloatArray();
            }
            catch (Exception ex) when (ex is OnnxFormatException or NotSupportedException or IOException)
            {
                // Only a help for Resize shapes.
            }
            return;
        }
        if (!OnnxDataTypes.IsInteger(type) && type != OnnxDataType.Bool)
        {
            return;
        }

        long count;
        try
        {
            count = TensorShapes.ElementCount(tensor.Dims);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            return;
        }

        if (count > MaxTrackedValues)
        {
            return;
        }

        try
        {
            SetValues(name, TensorData.FromProto(tensor, externalDataDirectory).ToInt64Array());
        }
        catch (Exception ex) when (ex is OnnxFormatException or NotSupportedException or OverflowException or IOException)
        {
            // Values are only a help for shape computations; without them those nodes report unresolved.
        }
    }
}
