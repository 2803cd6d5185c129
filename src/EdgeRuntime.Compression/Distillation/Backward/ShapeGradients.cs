using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of ops that only move values: reshaped, concatenated or transposed back.</summary>
internal static class ShapeGradients
{
    /// <summary>Reshape, Flatten, Squeeze, Unsqueeze: the gradient takes the input's shape.</summary>
    public static void ToInputShape(NodeProto node, string dy, GradientContext g) =>
        g.Pass(node, 0, g.Reshape(dy, g.Shape(node.Input[0])));

    /// <summary>Identity and inference-time Dropout.</summary>
    public static void PassThrough(NodeProto node, string dy, GradientContext g) => g.Pass(node, 0, dy);

    public static void Concat(NodeProto node, string dy, GradientContext g)
    {
        long[] yShape = g.Shape(node.Output[0]);
        int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), yShape.Length);
        long offset = 0;
        for (int i = 0; i < node.Input.Count; i++)
        {
            long size = g.Shape(node.Input[i])[axis];
            if (g.Wants(node, i))
            {
                g.Pass(node, i, g.Slice(dy, [offset], [offset + size], [axis]));
            }
            offset += size;
        }
    }

    public static void Transpose(NodeProto node, string dy, GradientContext g)
    {
        long[] perm = node.GetInts("perm") is { Length: > 0 } p ? p : [.. Enumerable.Range(0, g.Shape(node.Input[0]).Length).Reverse().Select(i => (long)i)];
        var inverse = new long[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            inverse[perm[i]] = i;
        }
        g.Pass(node, 0, g.Transpose(dy, inverse));
    }
}
