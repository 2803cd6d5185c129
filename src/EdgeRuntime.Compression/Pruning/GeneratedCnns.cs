using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Small CNNs of the architectures structured pruning must handle, with random (He-scaled) weights and
/// channel counts typical of mobile networks, generated with the ONNX graph API: plain, residual,
/// depthwise-separable with squeeze-excitation, and an FPN-style neck (upsample + add and concat).
/// Used to check that pruning keeps them valid and to benchmark whether it makes them faster.
/// Input x [batch, 3, size, size].
/// </summary>
public static class GeneratedCnns
{
    public static readonly IReadOnlyList<string> Kinds = ["plain", "residual", "depthwise-se", "fpn"];

    public static OnnxModel Create(string kind, int size = 96, int seed = 1) => kind switch
    {
        "plain" => Plain(size, seed),
        "residual" => Residual(size, seed),
        "depthwise-se" => DepthwiseSqueezeExcite(size, seed),
        "fpn" => Fpn(size, seed),
        _ => throw new ArgumentException($"unknown CNN kind '{kind}': expected one of {string.Join(", ", Kinds)}"),
    };

    /// <summary>Four 3x3 convolutions (three with stride 2) with ReLU, global pooling, a classifier.</summary>
    public static OnnxModel Plain(int size = 96, int seed = 1)
    {
        var b = new Builder(size, seed);
        string x = b.Relu(b.Conv("conv0", "x", 3, 24, 3, 2));
        x = b.Relu(b.Conv("conv1", x, 24, 48, 3, 2));
        x = b.Relu(b.Conv("conv2", x, 48, 96, 3, 2));
        x = b.Relu(b.Conv("conv3", x, 96, 96, 3, 1));
        return b.Classifier(x, 96, 10);
    }

    /// <summary>A stem and two stages of two residual blocks each (3x3, 3x3, add, ReLU).</summary>
    public static OnnxModel Residual(int size = 96, int seed = 1)
    {
        var b = new Builder(size, seed);
        string x = b.Relu(b.Conv("stem", "x", 3, 40, 3, 2));
        int channels = 40;
        foreach (var (stage, width) in new[] { (1, 40), (2, 72) })
        {
            if (width != channels)
            {
                x = b.Relu(b.Conv($"down{stage}", x, channels, width, 3, 2));
                channels = width;
            }
            for (int block = 0; block < 2; block++)
            {
                string name = $"s{stage}b{block}";
                string y = b.Relu(b.Conv($"{name}.a", x, channels, channels, 3, 1));
                y = b.Conv($"{name}.b", y, channels, channels, 3, 1);
                x = b.Relu(b.Node("Add", [x, y], $"{name}.add"));
            }
        }
        return b.Classifier(x, channels, 10);
    }

    /// <summary>MobileNetV3-style inverted residual blocks: 1x1 expand, 3x3 depthwise, squeeze-excitation, 1x1 project, hard-swish.</summary>
    public static OnnxModel DepthwiseSqueezeExcite(int size = 96, int seed = 1)
    {
        var b = new Builder(size, seed);
        string x = b.HardSwish(b.Conv("stem", "x", 3, 24, 3, 2));
        int channels = 24;
        foreach (var (name, expand, output, stride) in new[] { ("ir0", 72, 40, 2), ("ir1", 120, 40, 1), ("ir2", 200, 80, 2) })
        {
            string y = b.HardSwish(b.Conv($"{name}.expand", x, channels, expand, 1, 1));
            y = b.HardSwish(b.Conv($"{name}.dw", y, expand, expand, 3, stride, group: expand));
            string squeezed = b.Node("GlobalAveragePool", [y], $"{name}.squeeze");
            string excited = b.Relu(b.Conv($"{name}.se1", squeezed, expand, expand / 4, 1, 1));
            string gate = b.Node("HardSigmoid", [b.Conv($"{name}.se2", excited, expand / 4, expand, 1, 1)], $"{name}.gate");
            y = b.Node("Mul", [y, gate], $"{name}.scale");
            y = b.Conv($"{name}.project", y, expand, output, 1, 1);
            x = stride == 1 && output == channels ? b.Node("Add", [x, y], $"{name}.add") : y;
            channels = output;
        }
        x = b.HardSwish(b.Conv("last", x, channels, 240, 1, 1));
        return b.Classifier(x, 240, 10);
    }

    /// <summary>
    /// A backbone of three stride-2 stages and an FPN neck: 1x1 laterals, the deeper map upsampled (Resize,
    /// nearest, x2) and added to the shallower one, a 3x3 smoothing, then concatenated with another upsampled
    /// branch and a 3x3 head whose output map is the graph output.
    /// </summary>
    public static OnnxModel Fpn(int size = 96, int seed = 1)
    {
        var b = new Builder(size, seed);
        string c1 = b.Relu(b.Conv("c1", "x", 3, 32, 3, 2));
        string c2 = b.Relu(b.Conv("c2", c1, 32, 56, 3, 2));
        string c3 = b.Relu(b.Conv("c3", c2, 56, 104, 3, 2));
        string l3 = b.Conv("lateral3", c3, 104, 48, 1, 1);
        string l2 = b.Conv("lateral2", c2, 56, 48, 1, 1);
        string up3 = b.Upsample(l3, "up3");
        string p2 = b.Node("Add", [l2, up3], "p2.add");
        string smooth = b.Relu(b.Conv("smooth2", p2, 48, 48, 3, 1));
        string side = b.Upsample(b.Relu(b.Conv("side3", c3, 104, 24, 1, 1)), "up_side");
        string merged = b.Node("Concat", [smooth, side], "merge", axis: 1);
        string head = b.Relu(b.Conv("head0", merged, 72, 40, 3, 1));
        b.Conv("head1", head, 40, 8, 1, 1, output: "y");
        b.Graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 8, size / 4, size / 4));
        return b.Model;
    }

    private sealed class Builder
    {
        private readonly Random _random;

        public Builder(int size, int seed)
        {
            if (size < 16 || size % 8 != 0)
            {
                throw new ArgumentException($"generated CNN input size {size}: expected a multiple of 8, at least 16");
            }
            _random = new Random(seed);
            Model = OnnxModel.Create(opsetVersion: 14);
            Graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 3, size, size));
        }

        public OnnxModel Model { get; }
        public OnnxGraph Graph => Model.Graph;

        public string Conv(string name, string input, int inChannels, int outChannels, int kernel, int stride, int group = 1, string? output = null)
        {
            int perGroup = inChannels / group;
            float scale = MathF.Sqrt(2f / (perGroup * kernel * kernel));
            var weight = new float[outChannels * perGroup * kernel * kernel];
            for (int i = 0; i < weight.Length; i++)
            {
                weight[i] = (_random.NextSingle() * 2 - 1) * scale * 1.7f;
            }
            var bias = new float[outChannels];
            for (int i = 0; i < bias.Length; i++)
            {
                bias[i] = (_random.NextSingle() - 0.5f) * 0.1f;
            }
            Graph.AddInitializer(TensorData.Create(weight, outChannels, perGroup, kernel, kernel).ToProto($"{name}.weight"));
            Graph.AddInitializer(TensorData.Vector(bias).ToProto($"{name}.bias"));
            int pad = kernel / 2;
            var node = Graph.AddNode("Conv", [input, $"{name}.weight", $"{name}.bias"], [output ?? name], name)
                .SetInts("pads", [pad, pad, pad, pad]).SetInts("strides", [stride, stride]);
            if (group > 1)
            {
                node.SetInt("group", group);
            }
            return output ?? name;
        }

        public string Node(string op, IReadOnlyList<string> inputs, string name, long? axis = null)
        {
            var node = Graph.AddNode(op, inputs, [name], name);
            if (axis is long a)
            {
                node.SetInt("axis", a);
            }
            return name;
        }

        public string Relu(string input) => Node("Relu", [input], input + ".relu");

        public string HardSwish(string input) => Node("HardSwish", [input], input + ".hswish");

        public string Upsample(string input, string name)
        {
            Graph.AddInitializer(TensorData.Vector([1f, 1f, 2f, 2f]).ToProto($"{name}.scales"));
            Graph.AddNode("Resize", [input, "", $"{name}.scales"], [name], name).SetString("mode", "nearest");
            return name;
        }

        public OnnxModel Classifier(string input, int channels, int classes)
        {
            string pooled = Node("GlobalAveragePool", [input], "gap");
            string flat = Node("Flatten", [pooled], "flatten", axis: 1);
            var weight = new float[classes * channels];
            for (int i = 0; i < weight.Length; i++)
            {
                weight[i] = (_random.NextSingle() * 2 - 1) * MathF.Sqrt(1f / channels);
            }
            Graph.AddInitializer(TensorData.Create(weight, classes, channels).ToProto("fc.weight"));
            Graph.AddInitializer(TensorData.Vector(new float[classes]).ToProto("fc.bias"));
            Graph.AddNode("Gemm", [flat, "fc.weight", "fc.bias"], ["y"], "fc").SetInt("transB", 1);
            Graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", classes));
            return Model;
        }
    }
}
