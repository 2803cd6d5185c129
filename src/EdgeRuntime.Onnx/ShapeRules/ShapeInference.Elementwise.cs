using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape rules of ops whose output has an input's shape or the broadcast of their inputs' shapes (activations, arithmetic, comparisons, casts, quantize/dequantize).</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> ElementwiseRules() =>
    [
        (
        [
            "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu", "Celu", "Softplus",
            "Softsign", "Gelu", "Mish", "Erf", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Ceil", "Floor",
            "Round", "Sign", "Sin", "Cos", "Not", "Clip", "Softmax", "LogSoftmax", "Hardmax", "LRN",
            "InstanceNormalization", "LayerNormalization", "MeanVarianceNormalization", "QuantizeLinear",
            "DequantizeLinear", "IsNaN", "IsInf", "Shrink", "ThresholdedRelu", "CumSum"
        ], static (s, n) => s.SameShape(n)),
        (
        [
            "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Equal", "Less", "Greater", "LessOrEqual",
            "GreaterOrEqual", "And", "Or", "Xor", "Where", "Mod", "BitShift", "PRelu"
        ], static (s, n) => s.Broadcast(n)),
        (["Identity", "Cast", "CastLike"], static (s, n) => s.PassThrough(n)),
        (["Dropout"], static (s, n) => s.Dropout(n)),
        (["DynamicQuantizeLinear"], static (s, n) => s.DynamicQuantizeLinear(n)),
    ];

    private long SameShape(NodeProto node)
    {
        SetOutput(node, 0, InputShape(node, 0));
        return 0;
    }

    private long PassThrough(NodeProto node)
    {
        SetOutput(node, 0, InputShape(node, 0));
        if (_values.TryGetValue(node.Input[0], out var values) && node.Output.Count > 0)
        {
            SetValues(node.Output[0], values);
        }

        return 0;
    }

    private long Dropout(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        SetOutput(node, 0, x);
        SetOutput(node, 1, x);
        return 0;
    }

    private long DynamicQuantizeLinear(NodeProto node)
    {
        SetOutput(node, 0, InputShape(node, 0));
        SetOutput(node, 1, []);
        SetOutput(node, 2, []);
        return 0;
    }

    private long Broadcast(NodeProto node)
    {
        long[] shape = [];
        for (int i = 0; i < node.Input.Count; i++)
        {
            if (node.Input[i].Length > 0)
            {
                shape = BroadcastShapes(shape, InputShape(node, i));
            }
        }

        SetOutput(node, 0, shape);
        TrackArithmetic(node);
        return 0;
    }

    private void TrackArithmetic(NodeProto node)
    {
        if (node.OpType is not ("Add" or "Sub" or "Mul" or "Div") || node.Input.Count != 2
            || !_values.TryGetValue(node.Input[0], out var a) || !_values.TryGetValue(node.Input[1], out var b)
            || (a.Length != b.Length && a.Length != 1 && b.Length != 1))
        {
            return;
        }

        int length = Math.Max(a.Length, b.Length);
        var result = new long[length];
        for (int i = 0; i < length; i++)
        {
            long left = a[a.Length == 1 ? 0 : i];
            long right = b[b.Length == 1 ? 0 : i];
            result[i] = node.OpType switch
            {
                "Add" => left + right,
                "Sub" => left - right,
                "Mul" => left * right,
                _ => right == 0 ? 0 : left / right,
            };
        }

        SetValues(node.Output[0], result);
    }

    private static long[] BroadcastShapes(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var output = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long left = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            long right = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (left != right && left != 1 && right != 1)
            {
                throw new UnresolvedShapeException($"shapes {TensorShapes.Format(a)} and {TensorShapes.Format(b)} do not broadcast");
            }

            output[i] = left == 1 ? right : left;
        }

        return output;
    }
}
