using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Generated models for the pruning tests. Channels listed as dead have zero filters and biases (and a
/// neutral normalization), so removing them changes nothing downstream.
/// </summary>
internal static class PruneModels
{
    /// <summary>x [b,3,8,8] → conv0 → relu0 → conv1 → relu1 → conv2 → Add(relu0) → relu2 → conv3 → relu3 → Flatten → fc → y [b,5].</summary>
    public static OnnxModel Residual()
    {
        var (model, graph) = Start(3, 8, 5);
        Conv(graph, "conv0", "x", 3, 8, dead: [1, 3, 5, 7]);
        graph.AddNode("Relu", ["conv0"], ["relu0"], "relu0");
        Conv(graph, "conv1", "relu0", 8, 8, dead: [0, 1, 2, 3]);
        graph.AddNode("Relu", ["conv1"], ["relu1"], "relu1");
        Conv(graph, "conv2", "relu1", 8, 8, dead: [1, 3, 5, 7]);
        graph.AddNode("Add", ["relu0", "conv2"], ["sum"], "residual");
        graph.AddNode("Relu", ["sum"], ["relu2"], "relu2");
        Conv(graph, "conv3", "relu2", 8, 4, dead: [0, 2]);
        graph.AddNode("Relu", ["conv3"], ["relu3"], "relu3");
        graph.AddNode("Flatten", ["relu3"], ["flat"], "flatten").SetInt("axis", 1);
        Gemm(graph, "fc", "flat", 4 * 64, 5, "y");
        return model;
    }

    /// <summary>
    /// A MobileNetV3-style block: x → conv0 → hard-swish (HardSigmoid, Mul) → act; squeeze-excitation
    /// act → GlobalAveragePool → se1 → Relu → se2 → HardSigmoid → Mul(act) → proj → Add(act) → GlobalAveragePool → Flatten → fc → y.
    /// The excitation's outputs scale act's channels and proj adds to them: conv0, se2 and proj are one group.
    /// </summary>
    public static OnnxModel SqueezeExcite()
    {
        var (model, graph) = Start(3, 8, 5);
        int[] dead = [0, 2, 4, 6];
        Conv(graph, "conv0", "x", 3, 8, dead);
        graph.AddNode("HardSigmoid", ["conv0"], ["conv0_gate"], "hswish_gate");
        graph.AddNode("Mul", ["conv0", "conv0_gate"], ["act"], "hswish");
        graph.AddNode("GlobalAveragePool", ["act"], ["squeezed"], "squeeze");
        Conv(graph, "se1", "squeezed", 8, 4, dead: [1, 3]);
        graph.AddNode("Relu", ["se1"], ["se1_relu"], "se1_relu");
        Conv(graph, "se2", "se1_relu", 4, 8, dead);
        graph.AddNode("HardSigmoid", ["se2"], ["gate"], "excite");
        graph.AddNode("Mul", ["act", "gate"], ["scaled"], "scale");
        Conv(graph, "proj", "scaled", 8, 8, dead);
        graph.AddNode("Add", ["proj", "act"], ["block"], "residual");
        graph.AddNode("GlobalAveragePool", ["block"], ["gap"], "gap");
        graph.AddNode("Flatten", ["gap"], ["flat"], "flatten");
        Gemm(graph, "fc", "flat", 8, 5, "y");
        return model;
    }

    /// <summary>x → conv0 → BatchNormalization → Relu → depthwise conv → Relu → conv1 → GlobalAveragePool → Flatten → fc → y.</summary>
    public static OnnxModel Depthwise()
    {
        var (model, graph) = Start(3, 8, 5);
        int[] dead = [0, 2, 4, 6];
        Conv(graph, "conv0", "x", 3, 8, dead);
        var scale = Ort.RandomValues(8, 31, 0.5f, 1.5f);
        var shift = Ort.RandomValues(8, 32, -0.2f, 0.2f);
        var mean = Ort.RandomValues(8, 33, -0.1f, 0.1f);
        var variance = Ort.RandomValues(8, 34, 0.5f, 1.5f);
        foreach (int c in dead)
        {
            shift[c] = 0;
            mean[c] = 0;
        }
        graph.AddInitializer(TensorData.Vector(scale).ToProto("bn.scale"));
        graph.AddInitializer(TensorData.Vector(shift).ToProto("bn.bias"));
        graph.AddInitializer(TensorData.Vector(mean).ToProto("bn.mean"));
        graph.AddInitializer(TensorData.Vector(variance).ToProto("bn.var"));
        graph.AddNode("BatchNormalization", ["conv0", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["bn"], "bn");
        graph.AddNode("Relu", ["bn"], ["relu0"], "relu0");
        var dwWeight = Ort.RandomValues(8 * 9, 35, -0.5f, 0.5f);
        var dwBias = Ort.RandomValues(8, 36, -0.1f, 0.1f);
        foreach (int c in dead)
        {
            dwBias[c] = 0;
        }
        graph.AddInitializer(TensorData.Create(dwWeight, 8, 1, 3, 3).ToProto("dw.weight"));
        graph.AddInitializer(TensorData.Vector(dwBias).ToProto("dw.bias"));
        var dw = graph.AddNode("Conv", ["relu0", "dw.weight", "dw.bias"], ["dw"], "dw");
        dw.SetInt("group", 8);
        dw.SetInts("pads", [1, 1, 1, 1]);
        graph.AddNode("Relu", ["dw"], ["relu1"], "relu1");
        Conv(graph, "conv1", "relu1", 8, 6, dead: [1, 2, 4]);
        graph.AddNode("GlobalAveragePool", ["conv1"], ["gap"], "gap");
        graph.AddNode("Flatten", ["gap"], ["flat"], "flatten");
        Gemm(graph, "fc", "flat", 6, 5, "y");
        return model;
    }

    /// <summary>x → left conv (4 ch) and right conv (6 ch) → Relu → Concat → mix conv → GlobalAveragePool → Flatten → fc → y.</summary>
    public static OnnxModel Concat()
    {
        var (model, graph) = Start(3, 8, 5);
        Conv(graph, "left", "x", 3, 4, dead: [0, 3]);
        Conv(graph, "right", "x", 3, 6, dead: [1, 2, 5]);
        graph.AddNode("Relu", ["left"], ["left_relu"], "left_relu");
        graph.AddNode("Relu", ["right"], ["right_relu"], "right_relu");
        graph.AddNode("Concat", ["left_relu", "right_relu"], ["joined"], "join").SetInt("axis", 1);
        Conv(graph, "mix", "joined", 10, 6, dead: [0, 1, 2]);
        graph.AddNode("Relu", ["mix"], ["mix_relu"], "mix_relu");
        graph.AddNode("GlobalAveragePool", ["mix_relu"], ["gap"], "gap");
        graph.AddNode("Flatten", ["gap"], ["flat"], "flatten");
        Gemm(graph, "fc", "flat", 6, 5, "y");
        return model;
    }

    /// <summary>x [b,12] → MatMul + Add → Relu (16 neurons, 8 dead) → MatMul + Add → y [b,4].</summary>
    public static OnnxModel DeadMlp()
    {
        var model = TestModels.Mlp([12, 16, 4], seed: 4);
        var graph = model.Graph;
        var w0 = graph.GetInitializerData("w0").ToFloatArray();
        var b0 = graph.GetInitializerData("b0").ToFloatArray();
        foreach (int neuron in new[] { 0, 2, 4, 6, 8, 10, 12, 14 })
        {
            for (int i = 0; i < 12; i++)
            {
                w0[i * 16 + neuron] = 0;
            }
            b0[neuron] = 0;
        }
        graph.SetInitializer("w0", TensorData.Create(w0, 12, 16));
        graph.SetInitializer("b0", TensorData.Vector(b0));
        return model;
    }

    private static (OnnxModel Model, OnnxGraph Graph) Start(int channels, int size, int classes)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", channels, size, size));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", classes));
        return (model, graph);
    }

    private static void Conv(OnnxGraph graph, string name, string input, int inChannels, int outChannels, int[] dead)
    {
        var weight = Ort.RandomValues(outChannels * inChannels * 9, name.Sum(c => c) * 31, -0.4f, 0.4f);
        var bias = Ort.RandomValues(outChannels, name.Length * 7, 0.05f, 0.2f);
        foreach (int c in dead)
        {
            Array.Clear(weight, c * inChannels * 9, inChannels * 9);
            bias[c] = 0;
        }
        graph.AddInitializer(TensorData.Create(weight, outChannels, inChannels, 3, 3).ToProto($"{name}.weight"));
        graph.AddInitializer(TensorData.Vector(bias).ToProto($"{name}.bias"));
        graph.AddNode("Conv", [input, $"{name}.weight", $"{name}.bias"], [name], name).SetInts("pads", [1, 1, 1, 1]);
    }

    private static void Gemm(OnnxGraph graph, string name, string input, int inFeatures, int outFeatures, string output)
    {
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(outFeatures * inFeatures, 77, -0.3f, 0.3f), outFeatures, inFeatures).ToProto($"{name}.weight"));
        graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outFeatures, 78, -0.1f, 0.1f)).ToProto($"{name}.bias"));
        graph.AddNode("Gemm", [input, $"{name}.weight", $"{name}.bias"], [output], name).SetInt("transB", 1);
    }
}
