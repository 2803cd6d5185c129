using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Emits the gradients of one node's inputs, given the gradient <paramref name="dy"/> of its first output.</summary>
internal delegate void GradientRule(NodeProto node, string dy, GradientContext g);

/// <summary>A differentiated op: its rule, and which inputs carry data (their shapes are probed; the rest are attributes as inputs).</summary>
internal sealed record GradientOp(GradientRule Differentiate, Func<NodeProto, IEnumerable<int>> DataSlots);

/// <summary>
/// The ops the backward graph differentiates, each with its rule; the rules live one file per op family.
/// An op is supported exactly when it is listed here.
/// </summary>
internal static class GradientRules
{
    private static readonly Func<NodeProto, IEnumerable<int>> First = _ => [0];
    private static readonly Func<NodeProto, IEnumerable<int>> Both = _ => [0, 1];

    public static IReadOnlyDictionary<string, GradientOp> ByOpType { get; } = new Dictionary<string, GradientOp>(StringComparer.Ordinal)
    {
        ["Conv"] = new(ConvolutionGradients.Conv, First),
        ["BatchNormalization"] = new(NormalizationGradients.BatchNormalization, First),
        ["Relu"] = new(ActivationGradients.Relu, First),
        ["LeakyRelu"] = new(ActivationGradients.LeakyRelu, First),
        ["Clip"] = new(ActivationGradients.Clip, First),
        ["HardSigmoid"] = new(ActivationGradients.HardSigmoid, First),
        ["HardSwish"] = new(ActivationGradients.HardSwish, First),
        ["Sigmoid"] = new(ActivationGradients.Sigmoid, First),
        ["Tanh"] = new(ActivationGradients.Tanh, First),
        ["Add"] = new(ElementwiseGradients.Add, Both),
        ["Sub"] = new(ElementwiseGradients.Sub, Both),
        ["Mul"] = new(ElementwiseGradients.Mul, Both),
        ["Div"] = new(ElementwiseGradients.Div, Both),
        ["MatMul"] = new(MatrixGradients.MatMul, Both),
        ["Gemm"] = new(MatrixGradients.Gemm, _ => [0, 1, 2]),
        ["GlobalAveragePool"] = new(PoolingGradients.GlobalAveragePool, First),
        ["MaxPool"] = new(PoolingGradients.MaxPool, First),
        ["Reshape"] = new(ShapeGradients.ToInputShape, First),
        ["Flatten"] = new(ShapeGradients.ToInputShape, First),
        ["Squeeze"] = new(ShapeGradients.ToInputShape, First),
        ["Unsqueeze"] = new(ShapeGradients.ToInputShape, First),
        ["Identity"] = new(ShapeGradients.PassThrough, First),
        ["Dropout"] = new(ShapeGradients.PassThrough, First),
        ["Concat"] = new(ShapeGradients.Concat, node => Enumerable.Range(0, node.Input.Count)),
        ["Transpose"] = new(ShapeGradients.Transpose, First),
    };
}
