using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of inference-form BatchNormalization (constant mean and variance).</summary>
internal static class NormalizationGradients
{
    public static void BatchNormalization(NodeProto node, string dy, GradientContext g)
    {
        if (node.Output.Count > 1 && node.Output.Skip(1).Any(o => o.Length > 0) || node.GetInt("training_mode") != 0)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)} runs in training mode; only the inference form is differentiated");
        }
        string x = node.Input[0], scale = node.Input[1];
        var mean = g.Graph.FindInitializer(node.Input[3]);
        var variance = g.Graph.FindInitializer(node.Input[4]);
        if (mean is null || variance is null || g.Wants(node, 3) || g.Wants(node, 4))
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: its mean and variance must be constant");
        }
        float epsilon = node.GetFloat("epsilon", 1e-5f);
        float[] meanValues = g.Graph.GetInitializerData(node.Input[3]).ToFloatArray();
        float[] inverseStd = [.. g.Graph.GetInitializerData(node.Input[4]).ToFloatArray().Select(v => 1f / MathF.Sqrt(v + epsilon))];
        long[] xShape = g.Shape(x);
        long[] channelShape = [1, xShape[1], .. GradientContext.Ones(xShape.Length - 2)];
        string inverse = g.Floats(inverseStd, channelShape);
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, g.Emit("Mul", [dy, g.Emit("Mul", [g.Reshape(scale, channelShape), inverse])]));
        }
        int[] reduced = [0, .. Enumerable.Range(2, xShape.Length - 2)];
        if (g.Wants(node, 1))
        {
            string normalized = g.Emit("Mul", [g.Emit("Sub", [x, g.Floats(meanValues, channelShape)]), inverse]);
            g.Pass(node, 1, g.ReduceSum(g.Emit("Mul", [dy, normalized]), reduced, keepDims: false));
        }
        if (g.Wants(node, 2))
        {
            g.Pass(node, 2, g.ReduceSum(dy, reduced, keepDims: false));
        }
    }
}
