namespace EdgeRuntime.Onnx.Tests.Support;

/// <summary>
/// Small graphs exercising one shape rule each; the input is "x" and the output "y".
/// MACs are worked out by hand from the ONNX formulas.
/// </summary>
internal static class ShapeCases
{
    public sealed record Case(long[] InputShape, Action<OnnxGraph> Build, long? ExpectedMacs = null, long Opset = OnnxModel.DefaultOpsetVersion);

    public static readonly IReadOnlyDictionary<string, Case> All = new Dictionary<string, Case>
    {
        // H: (11 + 1 + 2 - (2*(3-1)+1)) / 2 + 1 = 5; W: (9 + 0 + 1 - 2) / 1 + 1 = 9.
        ["conv grouped, strided, dilated, asymmetric pads"] = new([1, 4, 11, 9], graph =>
        {
            Weight(graph, "w", 6, 2, 3, 2);
            graph.AddNode("Conv", ["x", "w"], ["y"]).SetInt("group", 2).SetInts("strides", [2, 1])
                .SetInts("pads", [1, 0, 2, 1]).SetInts("dilations", [2, 1]);
        }, 6 * 5 * 9 * 2 * 3 * 2),

        ["conv auto_pad SAME_UPPER stride 2"] = new([1, 3, 10, 7], graph =>
        {
            Weight(graph, "w", 4, 3, 3, 3);
            graph.AddNode("Conv", ["x", "w"], ["y"]).SetString("auto_pad", "SAME_UPPER").SetInts("strides", [2, 2]);
        }, 4 * 5 * 4 * 3 * 9),

        ["conv auto_pad VALID stride 3 with bias"] = new([1, 2, 10, 10], graph =>
        {
            Weight(graph, "w", 3, 2, 4, 4);
            Weight(graph, "b", 3);
            graph.AddNode("Conv", ["x", "w", "b"], ["y"]).SetString("auto_pad", "VALID").SetInts("strides", [3, 3]);
        }, 3 * 3 * 3 * 2 * 16),

        ["conv 1-d with fixed batch 2"] = new([2, 3, 20], graph =>
        {
            Weight(graph, "w", 5, 3, 5);
            graph.AddNode("Conv", ["x", "w"], ["y"]).SetInts("pads", [2, 2]);
        }, 2 * 5 * 20 * 3 * 5),

        // 2*(5-1) + 1 + (3-1) + 1 - 1 - 1 = 10
        ["conv transpose stride 2 with output padding"] = new([1, 4, 5, 5], graph =>
        {
            Weight(graph, "w", 4, 3, 3, 3);
            graph.AddNode("ConvTranspose", ["x", "w"], ["y"]).SetInts("strides", [2, 2]).SetInts("pads", [1, 1, 1, 1])
                .SetInts("output_padding", [1, 1]);
        }, 4 * 25 * 3 * 9),

        ["max pool ceil mode"] = new([1, 2, 10, 10], graph =>
            graph.AddNode("MaxPool", ["x"], ["y"]).SetInts("kernel_shape", [3, 3]).SetInts("strides", [2, 2]).SetInt("ceil_mode", 1), 0),

        ["average pool with pads"] = new([1, 2, 7, 7], graph =>
            graph.AddNode("AveragePool", ["x"], ["y"]).SetInts("kernel_shape", [3, 3]).SetInts("strides", [2, 2]).SetInts("pads", [1, 1, 1, 1])),

        ["global pool, flatten, gemm transB"] = new([1, 8, 4, 4], graph =>
        {
            Weight(graph, "w", 5, 8);
            Weight(graph, "b", 5);
            graph.AddNode("GlobalAveragePool", ["x"], ["pooled"]);
            graph.AddNode("Flatten", ["pooled"], ["flat"]);
            graph.AddNode("Gemm", ["flat", "w", "b"], ["y"]).SetInt("transB", 1);
        }, 8 * 5),

        ["gemm transA"] = new([6, 2], graph =>
        {
            Weight(graph, "w", 6, 3);
            graph.AddNode("Gemm", ["x", "w"], ["y"]).SetInt("transA", 1);
        }, 2 * 6 * 3),

        ["matmul batched with broadcasting"] = new([2, 1, 3, 4], graph =>
        {
            Weight(graph, "w", 5, 4, 6);
            graph.AddNode("MatMul", ["x", "w"], ["y"]);
        }, 2 * 5 * 3 * 4 * 6),

        ["matmul vector times batch of matrices"] = new([4], graph =>
        {
            Weight(graph, "w", 2, 4, 3);
            graph.AddNode("MatMul", ["x", "w"], ["y"]);
        }, 2 * 4 * 3),

        ["batch norm, relu, dropout, identity"] = new([1, 3, 4, 4], graph =>
        {
            Weight(graph, "scale", 3);
            Weight(graph, "shift", 3);
            Weight(graph, "mean", 3);
            graph.SetInitializer("var", TensorData.Create([1f, 2f, 3f], 3));
            graph.AddNode("BatchNormalization", ["x", "scale", "shift", "mean", "var"], ["bn"]);
            graph.AddNode("Relu", ["bn"], ["r"]);
            graph.AddNode("Dropout", ["r"], ["d"]);
            graph.AddNode("Identity", ["d"], ["y"]);
        }, 3 * 4 * 4),

        ["reshape with 0 and -1, then transpose"] = new([2, 3, 4], graph =>
        {
            graph.SetInitializer("shape", TensorData.Create([0L, -1L], 2));
            graph.AddNode("Reshape", ["x", "shape"], ["r"]);
            graph.AddNode("Transpose", ["r"], ["y"]);
        }),

        ["unsqueeze, concat, squeeze as inputs (opset 13+)"] = new([2, 3], graph =>
        {
            graph.SetInitializer("front", TensorData.Create([0L], 1));
            graph.SetInitializer("back", TensorData.Create([-1L], 1));
            graph.SetInitializer("axis3", TensorData.Create([3L], 1));
            graph.AddNode("Unsqueeze", ["x", "front"], ["u"]);
            graph.AddNode("Concat", ["u", "u", "u"], ["c"]).SetInt("axis", 0);
            graph.AddNode("Unsqueeze", ["c", "back"], ["c1"]);
            graph.AddNode("Squeeze", ["c1", "axis3"], ["y"]);
        }),

        ["unsqueeze and squeeze as attributes (opset 11)"] = new([2, 3], graph =>
        {
            graph.AddNode("Unsqueeze", ["x"], ["u"]).SetInts("axes", [0, -1]);
            graph.AddNode("Squeeze", ["u"], ["s"]).SetInts("axes", [0]);
            graph.AddNode("Flatten", ["s"], ["y"]).SetInt("axis", 2);
        }, Opset: 11),

        ["torch view(x.size(0), -1) chain"] = new([2, 3, 4], graph =>
        {
            graph.SetInitializer("zero", TensorData.Scalar(0L));
            graph.SetInitializer("axes0", TensorData.Create([0L], 1));
            graph.SetInitializer("minus_one", TensorData.Create([-1L], 1));
            graph.AddNode("Shape", ["x"], ["shape"]);
            graph.AddNode("Gather", ["shape", "zero"], ["batch"]).SetInt("axis", 0);
            graph.AddNode("Unsqueeze", ["batch", "axes0"], ["batch1"]);
            graph.AddNode("Concat", ["batch1", "minus_one"], ["target"]).SetInt("axis", 0);
            graph.AddNode("Reshape", ["x", "target"], ["y"]);
        }),

        ["broadcast add then softmax"] = new([3, 1, 5], graph =>
        {
            Weight(graph, "w", 4, 1);
            graph.AddNode("Add", ["x", "w"], ["sum"]);
            graph.AddNode("Softmax", ["sum"], ["y"]).SetInt("axis", -1);
        }),

        ["slice with negative start and step"] = new([4, 10], graph =>
        {
            graph.SetInitializer("starts", TensorData.Create([1L, -8L], 2));
            graph.SetInitializer("ends", TensorData.Create([3L, 1000L], 2));
            graph.SetInitializer("axes", TensorData.Create([0L, 1L], 2));
            graph.SetInitializer("steps", TensorData.Create([1L, 2L], 2));
            graph.AddNode("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"]);
        }),

        ["reduce mean attribute and reduce sum input axes"] = new([2, 3, 4], graph =>
        {
            graph.SetInitializer("axes", TensorData.Create([0L], 1));
            graph.AddNode("ReduceMean", ["x"], ["m"]).SetInts("axes", [1]).SetInt("keepdims", 0);
            graph.AddNode("ReduceSum", ["m", "axes"], ["y"]);
        }),

        ["constant node feeding reshape"] = new([6, 2], graph =>
        {
            graph.AddNode("Constant", [], ["target"]).SetTensor("value", TensorData.Create([3L, 4L], 2).ToProto("target_value"));
            graph.AddNode("Reshape", ["x", "target"], ["y"]);
        }),
    };

    private static void Weight(OnnxGraph graph, string name, params long[] dims) =>
        graph.SetInitializer(name, TensorData.Create(TestModels.Floats((int)TensorShapes.ElementCount(dims), seed: name.Length), dims));
}
