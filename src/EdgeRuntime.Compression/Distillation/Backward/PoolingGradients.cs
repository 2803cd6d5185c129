using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of pooling: spread evenly (average) or sent back to each window's maximum.</summary>
internal static class PoolingGradients
{
    public static void GlobalAveragePool(NodeProto node, string dy, GradientContext g)
    {
        long[] inputShape = g.Shape(node.Input[0]);
        float area = TensorShapes.Product(inputShape, 2, inputShape.Length);
        string spread = g.Emit("Expand", [dy, g.Int64s(inputShape)]);
        g.Pass(node, 0, g.Emit("Mul", [spread, g.Scalar(1f / area)]));
    }

    public static void MaxPool(NodeProto node, string dy, GradientContext g)
    {
        if (node.Output.Count > 1 && node.Output[1].Length > 0)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: MaxPool with its indices output is not differentiated");
        }
        long[] kernel = node.GetInts("kernel_shape");
        long[] strides = node.GetInts("strides", GradientContext.Ones(kernel.Length));
        bool overlapping = kernel.Zip(strides).Any(p => p.First > p.Second) || node.GetInts("dilations", GradientContext.Ones(kernel.Length)).Any(d => d != 1);
        if (g.Opset < 11)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: MaxPool is differentiated from opset 11 (ScatterElements); the model has opset {g.Opset}");
        }
        if (overlapping && g.Opset < 16)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: overlapping pooling windows need ScatterElements with reduction (opset 16); the model has opset {g.Opset}");
        }
        if (node.GetInt("storage_order") != 0)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: column-major storage_order is not differentiated");
        }
        // Indices of the maxima over the flattened input; each output's gradient goes back to its maximum.
        string indices = g.Fresh();
        while (node.Output.Count < 2)
        {
            node.Output.Add("");
        }
        node.Output[1] = indices;
        g.Graph.Invalidate();
        long[] xShape = g.Shape(node.Input[0]);
        long elements = TensorShapes.ElementCount(xShape);
        string zeros = g.Emit("ConstantOfShape", [g.Int64s([elements])]);
        var scatter = GraphNodes.Create("ScatterElements", [zeros, g.Reshape(indices, [-1]), g.Reshape(dy, [-1])], [g.Fresh()]).SetInt("axis", 0);
        if (g.Opset >= 16)
        {
            scatter.SetString("reduction", "add");
        }
        g.Pass(node, 0, g.Reshape(g.EmitNode(scatter), xShape));
    }
}
