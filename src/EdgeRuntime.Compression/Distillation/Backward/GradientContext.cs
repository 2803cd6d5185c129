using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>
/// What every gradient rule works with: the graph the backward ops are emitted into, the probed shapes, which
/// tensors need a gradient, and the parts of each gradient collected so far (summed when the producer is reached).
/// </summary>
internal sealed class GradientContext(OnnxModel model, IReadOnlyDictionary<string, long[]> shapes)
{
    private readonly Dictionary<string, List<string>> _gradientParts = new(StringComparer.Ordinal);
    private readonly Dictionary<float, string> _scalars = [];
    private readonly string _prefix = model.Graph.UniqueName("edgert_grad");
    private int _counter;

    public OnnxGraph Graph { get; } = model.Graph;
    public long Opset { get; } = model.OpsetFor("") ?? OnnxModel.DefaultOpsetVersion;
    public HashSet<string> NeedsGradient { get; } = new(StringComparer.Ordinal);

    public bool HasGradient(string tensor) => _gradientParts.ContainsKey(tensor);

    public bool Wants(NodeProto node, int slot) =>
        slot < node.Input.Count && node.Input[slot].Length > 0 && NeedsGradient.Contains(node.Input[slot]);

    /// <summary>Adds <paramref name="gradient"/> to the gradient of the node's input at <paramref name="slot"/>, if that input needs one.</summary>
    public void Pass(NodeProto node, int slot, string gradient)
    {
        if (Wants(node, slot))
        {
            AddGradient(node.Input[slot], gradient);
        }
    }

    public void AddGradient(string tensor, string gradient)
    {
        if (!_gradientParts.TryGetValue(tensor, out var parts))
        {
            _gradientParts[tensor] = parts = [];
        }
        parts.Add(gradient);
    }

    // Every consumer has added its part by the time the producer is differentiated (reverse graph order).
    public string Gradient(string tensor)
    {
        var parts = _gradientParts[tensor];
        if (parts.Count > 1)
        {
            string sum = Emit("Sum", parts);
            parts.Clear();
            parts.Add(sum);
        }
        return parts[0];
    }

    /// <summary>Sums a gradient of a broadcast result back to the shape of the operand that was broadcast.</summary>
    public string Unbroadcast(string gradient, string gradientOf, string operand)
    {
        long[] full = Shape(gradientOf), target = Shape(operand);
        if (full.SequenceEqual(target))
        {
            return gradient;
        }
        int offset = full.Length - target.Length;
        var axes = Enumerable.Range(0, full.Length).Where(i => i < offset || (target[i - offset] == 1 && full[i] != 1)).ToArray();
        string reduced = axes.Length == 0 ? gradient : ReduceSum(gradient, axes, keepDims: true);
        return Reshape(reduced, target);
    }

    public string ReduceSum(string input, IReadOnlyList<int> axes, bool keepDims)
    {
        long[] axisValues = [.. axes.Select(a => (long)a)];
        var node = Opset >= 13
            ? GraphNodes.Create("ReduceSum", [input, Int64s(axisValues)], [Fresh()])
            : GraphNodes.Create("ReduceSum", [input], [Fresh()]).SetInts("axes", axisValues);
        return EmitNode(node.SetInt("keepdims", keepDims ? 1 : 0));
    }

    public string Slice(string input, long[] starts, long[] ends, long[] axes) => Opset >= 10
        ? Emit("Slice", [input, Int64s(starts), Int64s(ends), Int64s(axes)])
        : EmitNode(GraphNodes.Create("Slice", [input], [Fresh()]).SetInts("starts", starts).SetInts("ends", ends).SetInts("axes", axes));

    public string Reshape(string input, long[] shape) => Emit("Reshape", [input, Int64s(shape)]);

    public string Transpose(string input, long[] perm) => EmitNode(GraphNodes.Create("Transpose", [input], [Fresh()]).SetInts("perm", perm));

    /// <summary>1 where <paramref name="comparison"/>(a, b) holds, 0 elsewhere, as float.</summary>
    public string Mask(string comparison, string a, string b) =>
        EmitNode(GraphNodes.Create("Cast", [Emit(comparison, [a, b])], [Fresh()]).SetInt("to", (long)OnnxDataType.Float));

    public string Emit(string opType, IEnumerable<string> inputs) => EmitNode(GraphNodes.Create(opType, inputs, [Fresh()]));

    public string EmitNode(NodeProto node)
    {
        if (node.Name.Length == 0)
        {
            node.Name = node.Output[0];
        }
        Graph.AddNode(node);
        return node.Output[0];
    }

    public string Fresh() => $"{_prefix}_{_counter++}";

    // One initializer per constant value, however many masks and slopes use it.
    public string Scalar(float value)
    {
        if (!_scalars.TryGetValue(value, out string? name))
        {
            _scalars[value] = name = Floats([value], []);
        }
        return name;
    }

    public string Floats(float[] values, long[] dims)
    {
        string name = Fresh();
        Graph.AddInitializer(TensorData.Create(values, dims).ToProto(name));
        return name;
    }

    public string Int64s(long[] values)
    {
        string name = Fresh();
        Graph.AddInitializer(TensorData.Vector(values).ToProto(name));
        return name;
    }

    public long[] Shape(string tensor)
    {
        if (Graph.FindInitializer(tensor) is { } initializer)
        {
            return [.. initializer.Dims];
        }
        return shapes.TryGetValue(tensor, out var shape)
            ? shape
            : throw new InvalidOperationException($"no shape was probed for tensor '{tensor}'");
    }

    public static long[] Ones(int count) => [.. Enumerable.Repeat(1L, count)];

    public static long[] Zeros(int count) => new long[count];
}
