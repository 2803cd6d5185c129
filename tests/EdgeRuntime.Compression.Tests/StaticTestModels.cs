using EdgeRuntime.Data;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Compression.Calibration;
using Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>Small float models and data for the static quantization tests.</summary>
internal static class SmallModels
{
    /// <summary>x[batch, inputs] → Gemm fc1 → Relu → Gemm fc2 → y; tensors "hidden", "hidden_relu".</summary>
    public static string Mlp(string path, int inputs, int hidden, int outputs, int seed, float outlierScale = 1f)
    {
        var random = new Random(seed);
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", inputs));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", outputs));
        graph.AddInitializer(TensorData.Create(Weights(random, inputs * hidden, 1f / MathF.Sqrt(inputs), outlierScale), inputs, hidden).ToProto("w1"));
        graph.AddInitializer(TensorData.Create(Weights(random, hidden, 0.1f, 1f), hidden).ToProto("b1"));
        graph.AddInitializer(TensorData.Create(Weights(random, hidden * outputs, 1f / MathF.Sqrt(hidden), 1f), hidden, outputs).ToProto("w2"));
        graph.AddInitializer(TensorData.Create(Weights(random, outputs, 0.1f, 1f), outputs).ToProto("b2"));
        graph.AddNode("Gemm", ["x", "w1", "b1"], ["hidden"], "fc1");
        graph.AddNode("Relu", ["hidden"], ["hidden_relu"], "relu");
        graph.AddNode("Gemm", ["hidden_relu", "w2", "b2"], ["y"], "fc2");
        model.Save(path);
        return path;
    }

    /// <summary>An MLP whose hidden activations pass through an If (then: identity, else: negation).</summary>
    public static string MlpWithIf(string path)
    {
        var random = new Random(1);
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 4));
        graph.AddInitializer(TensorData.Create(Weights(random, 64, 0.3f, 1f), 8, 8).ToProto("w1"));
        graph.AddInitializer(TensorData.Create(Weights(random, 32, 0.3f, 1f), 8, 4).ToProto("w2"));
        graph.AddInitializer(TensorData.Scalar(true).ToProto("condition"));
        graph.AddNode("Gemm", ["x", "w1"], ["hidden"], "fc1");
        graph.AddNode("Relu", ["hidden"], ["hidden_relu"], "relu");
        var thenBranch = new GraphProto { Name = "then" };
        thenBranch.Node.Add(GraphNodes.Create("Identity", ["hidden_relu"], ["then_out"], "then_identity"));
        thenBranch.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape("then_out", OnnxDataType.Float));
        var elseBranch = new GraphProto { Name = "else" };
        elseBranch.Node.Add(GraphNodes.Create("Neg", ["hidden_relu"], ["else_out"], "else_neg"));
        elseBranch.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape("else_out", OnnxDataType.Float));
        var branch = graph.AddNode("If", ["condition"], ["branched"], "branch");
        branch.SetGraph("then_branch", thenBranch);
        branch.SetGraph("else_branch", elseBranch);
        graph.AddNode("Gemm", ["branched", "w2"], ["y"], "fc2");
        model.Save(path);
        return path;
    }

    public static string ReluOnly(string path)
    {
        var model = OnnxModel.Create();
        model.Graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 4));
        model.Graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 4));
        model.Graph.AddNode("Relu", ["x"], ["y"], "relu");
        model.Save(path);
        return path;
    }

    public static string WriteRandomNpy(string path, int rows, int width, int seed)
    {
        var random = new Random(seed);
        var values = new float[rows * width];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSingle() * 2 - 1;
        }
        NpyFile.Save(path, NpyArray.FromValues<float>(values, [rows, width]));
        return path;
    }

    /// <summary>Mean over samples of the cosine similarity between two models' first outputs.</summary>
    public static double MeanCosine(string reference, string candidate, CalibrationData data)
    {
        using var a = ModelRuntime.Open(reference);
        using var b = ModelRuntime.Open(candidate);
        double total = 0;
        int samples = 0;
        foreach (var batch in data.Batches())
        {
            var x = a.Run(batch).First;
            var y = b.Run(batch).First;
            int rows = (int)x.Shape[0];
            int width = (int)(x.ElementCount() / rows);
            var xs = x.AsSpan<float>();
            var ys = y.AsSpan<float>();
            for (int r = 0; r < rows; r++)
            {
                total += System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(xs.Slice(r * width, width), ys.Slice(r * width, width));
                samples++;
            }
        }
        return total / samples;
    }

    private static float[] Weights(Random random, int count, float scale, float outlierScale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (random.NextSingle() * 2 - 1) * scale;
        }
        if (outlierScale != 1f)
        {
            values[count / 2] *= outlierScale; // one large weight: per-channel scales suffer in that channel
        }
        return values;
    }
}
