using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Tests.Support;

/// <summary>Small generated float32 models with seeded random weights (scaled 1/sqrt(fan-in), like a trained net).</summary>
internal static class TestModels
{
    /// <summary>x [batch, widths[0]] → (MatMul + Add bias → Relu)* → y [batch, widths[^1]]; the last layer has no Relu.</summary>
    public static OnnxModel Mlp(int[] widths, int seed = 1, bool useGemm = false)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", widths[0]));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", widths[^1]));
        string current = "x";
        for (int layer = 0; layer + 1 < widths.Length; layer++)
        {
            int k = widths[layer], n = widths[layer + 1];
            bool last = layer + 2 == widths.Length;
            string output = last ? "y" : $"h{layer}";
            string weight = $"w{layer}", bias = $"b{layer}";
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(n, seed * 100 + layer + 50, -0.1f, 0.1f)).ToProto(bias));
            if (useGemm)
            {
                // Gemm stores torch's Linear layout: [out, in] with transB.
                graph.AddInitializer(TensorData.Create(Weights(n, k, k, seed * 100 + layer), n, k).ToProto(weight));
                graph.AddNode("Gemm", [current, weight, bias], [last ? output : $"{output}_pre"], $"fc{layer}").SetInt("transB", 1);
            }
            else
            {
                graph.AddInitializer(TensorData.Create(Weights(k, n, k, seed * 100 + layer), k, n).ToProto(weight));
                graph.AddNode("MatMul", [current, weight], [$"{output}_mm"], $"fc{layer}");
                graph.AddNode("Add", [$"{output}_mm", bias], [last ? output : $"{output}_pre"], $"fc{layer}_bias");
            }
            if (!last)
            {
                graph.AddNode("Relu", [$"{output}_pre"], [output], $"relu{layer}");
            }
            current = output;
        }
        return model;
    }

    /// <summary>
    /// One transformer encoder block, single head: x [batch, seq, hidden] → Q/K/V projections, scaled
    /// dot-product attention with Softmax, output projection and residual, LayerNormalization, a
    /// GELU feed-forward (Erf form) and a second residual and LayerNormalization.
    /// </summary>
    public static OnnxModel TransformerBlock(int seq = 16, int hidden = 64, int ffn = 128, int seed = 7)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", seq, hidden));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", seq, hidden));
        int next = seed * 100;
        string Linear(string input, int k, int n, string name)
        {
            graph.AddInitializer(TensorData.Create(Weights(k, n, k, next++), k, n).ToProto($"{name}.weight"));
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(n, next++, -0.1f, 0.1f)).ToProto($"{name}.bias"));
            graph.AddNode("MatMul", [input, $"{name}.weight"], [$"{name}_mm"], $"{name}");
            graph.AddNode("Add", [$"{name}_mm", $"{name}.bias"], [$"{name}_out"], $"{name}_bias");
            return $"{name}_out";
        }
        string LayerNorm(string input, string name)
        {
            graph.AddInitializer(TensorData.Vector(Enumerable.Repeat(1f, hidden).ToArray()).ToProto($"{name}.gamma"));
            graph.AddInitializer(TensorData.Vector(new float[hidden]).ToProto($"{name}.beta"));
            graph.AddNode("LayerNormalization", [input, $"{name}.gamma", $"{name}.beta"], [$"{name}_out"], name).SetInt("axis", -1);
            return $"{name}_out";
        }
        string q = Linear("x", hidden, hidden, "q");
        string k = Linear("x", hidden, hidden, "k");
        string v = Linear("x", hidden, hidden, "v");
        graph.AddNode("Transpose", [k], ["k_t"], "k_transpose").SetInts("perm", [0, 2, 1]);
        graph.AddNode("MatMul", [q, "k_t"], ["scores"], "scores");
        graph.AddInitializer(TensorData.Scalar(1f / MathF.Sqrt(hidden)).ToProto("scale"));
        graph.AddNode("Mul", ["scores", "scale"], ["scaled"], "scale_scores");
        graph.AddNode("Softmax", ["scaled"], ["attention"], "softmax").SetInt("axis", -1);
        graph.AddNode("MatMul", ["attention", v], ["context"], "context");
        string projected = Linear("context", hidden, hidden, "o");
        graph.AddNode("Add", ["x", projected], ["residual1"], "residual1");
        string norm1 = LayerNorm("residual1", "ln1");
        string up = Linear(norm1, hidden, ffn, "ffn_up");
        // GELU as exported by PyTorch before opset 20: x * 0.5 * (1 + erf(x / sqrt(2))).
        graph.AddInitializer(TensorData.Scalar(MathF.Sqrt(2)).ToProto("sqrt2"));
        graph.AddInitializer(TensorData.Scalar(1f).ToProto("one"));
        graph.AddInitializer(TensorData.Scalar(0.5f).ToProto("half"));
        graph.AddNode("Div", [up, "sqrt2"], ["gelu_div"], "gelu_div");
        graph.AddNode("Erf", ["gelu_div"], ["gelu_erf"], "gelu_erf");
        graph.AddNode("Add", ["gelu_erf", "one"], ["gelu_add"], "gelu_add");
        graph.AddNode("Mul", [up, "gelu_add"], ["gelu_mul"], "gelu_mul");
        graph.AddNode("Mul", ["gelu_mul", "half"], ["gelu"], "gelu");
        string down = Linear("gelu", ffn, hidden, "ffn_down");
        graph.AddNode("Add", [norm1, down], ["residual2"], "residual2");
        string norm2 = LayerNorm("residual2", "ln2");
        graph.AddNode("Identity", [norm2], ["y"], "output");
        return model;
    }

    /// <summary>x [batch, 3, 16, 16] → Conv/BatchNormalization/Relu/MaxPool ×2 → GlobalAveragePool → Flatten → Gemm → y [batch, 10].</summary>
    public static OnnxModel ConvNet(int seed = 3)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 3, 16, 16));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 10));
        string current = "x";
        int channels = 3;
        for (int stage = 0; stage < 2; stage++)
        {
            int outChannels = 8 * (stage + 1);
            graph.AddInitializer(TensorData.Create(Weights(outChannels, channels * 9, channels * 9, seed * 10 + stage), outChannels, channels, 3, 3).ToProto($"conv{stage}.weight"));
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outChannels, seed * 10 + stage + 5, -0.1f, 0.1f)).ToProto($"conv{stage}.bias"));
            graph.AddNode("Conv", [current, $"conv{stage}.weight", $"conv{stage}.bias"], [$"conv{stage}"], $"conv{stage}").SetInts("pads", [1, 1, 1, 1]);
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outChannels, seed + 20 + stage, 0.5f, 1.5f)).ToProto($"bn{stage}.scale"));
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outChannels, seed + 30 + stage, -0.2f, 0.2f)).ToProto($"bn{stage}.bias"));
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outChannels, seed + 40 + stage, -0.1f, 0.1f)).ToProto($"bn{stage}.mean"));
            graph.AddInitializer(TensorData.Vector(Ort.RandomValues(outChannels, seed + 50 + stage, 0.5f, 1.5f)).ToProto($"bn{stage}.var"));
            graph.AddNode("BatchNormalization", [$"conv{stage}", $"bn{stage}.scale", $"bn{stage}.bias", $"bn{stage}.mean", $"bn{stage}.var"], [$"bn{stage}"], $"bn{stage}");
            graph.AddNode("Relu", [$"bn{stage}"], [$"relu{stage}"], $"relu{stage}");
            var pool = graph.AddNode("MaxPool", [$"relu{stage}"], [$"pool{stage}"], $"pool{stage}");
            pool.SetInts("kernel_shape", [2, 2]);
            pool.SetInts("strides", [2, 2]);
            current = $"pool{stage}";
            channels = outChannels;
        }
        graph.AddNode("GlobalAveragePool", [current], ["gap"], "gap");
        graph.AddNode("Flatten", ["gap"], ["flat"], "flatten");
        graph.AddInitializer(TensorData.Create(Weights(10, channels, channels, seed + 60), 10, channels).ToProto("fc.weight"));
        graph.AddInitializer(TensorData.Vector(new float[10]).ToProto("fc.bias"));
        graph.AddNode("Gemm", ["flat", "fc.weight", "fc.bias"], ["y"], "fc").SetInt("transB", 1);
        return model;
    }

    /// <summary>
    /// An MLP whose middle is an If: the then-branch runs a MatMul on an outer tensor (read implicitly
    /// from the subgraph), the else-branch passes it through. Input "flag" (bool scalar) picks the branch.
    /// </summary>
    public static OnnxModel WithIf(int width = 32, int seed = 11)
    {
        var model = Mlp([width, width, width], seed);
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("flag", OnnxDataType.Bool));
        // Re-route: h0 → If → y_if → (second layer's MatMul input).
        var secondMatMul = graph.Nodes.Single(n => n.Name == "fc1");
        secondMatMul.Input[0] = "after_if";
        graph.Invalidate();
        var thenBranch = new GraphProto { Name = "then" };
        thenBranch.Initializer.Add(TensorData.Create(Weights(width, width, width, seed + 5), width, width).ToProto("inner.weight"));
        thenBranch.Node.Add(GraphNodes.Create("MatMul", ["h0", "inner.weight"], ["then_out"], "inner_matmul"));
        thenBranch.Output.Add(OnnxValueInfo.CreateTensor("then_out", OnnxDataType.Float, "batch", width));
        var elseBranch = new GraphProto { Name = "else" };
        elseBranch.Node.Add(GraphNodes.Create("Identity", ["h0"], ["else_out"], "inner_identity"));
        elseBranch.Output.Add(OnnxValueInfo.CreateTensor("else_out", OnnxDataType.Float, "batch", width));
        var ifNode = graph.AddNode("If", ["flag"], ["after_if"], "branch");
        ifNode.SetGraph("then_branch", thenBranch);
        ifNode.SetGraph("else_branch", elseBranch);
        graph.SortTopologically();
        return model;
    }

    /// <summary>
    /// An MLP followed by a Loop that adds the hidden vector to an accumulator "trips" times
    /// (reading an outer tensor from the body), then a last MatMul.
    /// </summary>
    public static OnnxModel WithLoop(int width = 16, int seed = 13)
    {
        var model = Mlp([width, width, width], seed);
        var graph = model.Graph;
        var last = graph.Nodes.Single(n => n.Name == "fc1");
        last.Input[0] = "looped";
        graph.Invalidate();
        graph.AddInitializer(TensorData.Scalar(3L).ToProto("trips"));
        graph.AddInitializer(TensorData.Scalar(true).ToProto("keep_going"));
        var body = new GraphProto { Name = "body" };
        body.Input.Add(OnnxValueInfo.CreateTensor("iteration", OnnxDataType.Int64));
        body.Input.Add(OnnxValueInfo.CreateTensor("condition_in", OnnxDataType.Bool));
        body.Input.Add(OnnxValueInfo.CreateTensorOfUnknownShape("accumulator_in", OnnxDataType.Float));
        body.Node.Add(GraphNodes.Create("Identity", ["condition_in"], ["condition_out"], "keep"));
        body.Node.Add(GraphNodes.Create("Add", ["accumulator_in", "h0"], ["accumulator_out"], "accumulate"));
        body.Output.Add(OnnxValueInfo.CreateTensor("condition_out", OnnxDataType.Bool));
        body.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape("accumulator_out", OnnxDataType.Float));
        graph.AddNode("Loop", ["trips", "keep_going", "h0"], ["looped"], "repeat").SetGraph("body", body);
        graph.SortTopologically();
        return model;
    }

    /// <summary>x [batch, 8] → MatMul → TopK (k=3) and a Range-based index; ops the fp16 block list keeps float.</summary>
    public static OnnxModel WithTopK(int seed = 17)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("values", OnnxDataType.Float, "batch", 3));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("indices", OnnxDataType.Int64, "batch", 3));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("steps", OnnxDataType.Float, 4));
        graph.AddInitializer(TensorData.Create(Weights(8, 8, 8, seed), 8, 8).ToProto("w"));
        graph.AddNode("MatMul", ["x", "w"], ["scores"], "scores");
        graph.AddInitializer(TensorData.Vector(new long[] { 3 }).ToProto("k"));
        graph.AddNode("TopK", ["scores", "k"], ["values", "indices"], "top3");
        graph.AddInitializer(TensorData.Scalar(0f).ToProto("start"));
        graph.AddInitializer(TensorData.Scalar(2f).ToProto("limit"));
        graph.AddInitializer(TensorData.Scalar(0.5f).ToProto("delta"));
        graph.AddNode("Range", ["start", "limit", "delta"], ["steps"], "range");
        return model;
    }

    /// <summary>Turns every initializer into a Constant node, as older exporters (Paddle's, early PyTorch) store weights.</summary>
    public static OnnxModel WithWeightsInConstants(OnnxModel model)
    {
        var graph = model.Graph;
        foreach (var initializer in graph.Initializers.ToList())
        {
            graph.RemoveInitializer(initializer.Name);
            graph.InsertNode(0, GraphNodes.Create("Constant", [], [initializer.Name], $"{initializer.Name}_constant")).SetTensor("value", initializer);
        }
        return model;
    }

    public static float[] Weights(int rows, int columns, int fanIn, int seed)
    {
        float bound = 1f / MathF.Sqrt(fanIn);
        return Ort.RandomValues(rows * columns, seed, -bound, bound);
    }
}
