using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;
using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Compression.Tests;

public sealed class StaticQuantizationTests
{
    private static string FixturePath(string directory) => SampleModels.WriteFashionCnn(directory);

    private static void RequireFashionMnist()
    {
        if (!File.Exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") && Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must install Debian package dataset-fashion-mnist");
            Assert.Skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        }
    }

    [Fact]
    public void Fixture_int8_static_keeps_top1_within_two_tenths_of_a_point_at_under_30_percent_of_the_size()
    {
        RequireFashionMnist();
        using var temp = new TempDirectory();
        string fp32 = FixturePath(temp.Path);
        var (inputs, _) = OrtSignatures.ReadFromFile(fp32);
        var calibration = CalibrationData.FromDataset(FashionMnist.Load(FashionMnistSplit.Train), inputs, limit: 500);

        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), calibration);
        string int8 = temp.File("int8.onnx");
        result.Model.Save(int8);

        var test = FashionMnist.Load(FashionMnistSplit.Test);
        double Top1(string path)
        {
            using var runtime = ModelRuntime.Open(path);
            return Evaluator.Evaluate(runtime, test, labelled: true).Variants[0].Top1!.Value;
        }
        double reference = Top1(fp32), quantized = Top1(int8);
        Assert.True(reference - quantized <= 0.002, $"fp32 {reference:P2}, int8 {quantized:P2}");
        Assert.True(new FileInfo(int8).Length <= 0.30 * new FileInfo(fp32).Length);
        Assert.Equal(4, result.QuantizedNodes);
        Assert.Contains(result.Applied, a => a.Contains("per channel"));
    }

    [Fact]
    public void Onnx_runtime_fuses_every_quantized_node_into_integer_kernels()
    {
        using var temp = new TempDirectory();
        string fp32 = FixturePath(temp.Path);
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), RandomImages(fp32, 64));
        string int8 = temp.File("int8.onnx");
        result.Model.Save(int8);

        var ops = OptimizedOps(int8, temp.File("optimized.onnx"));

        Assert.Equal(2, ops.GetValueOrDefault("QLinearConv"));
        Assert.Equal(2, ops.GetValueOrDefault("QGemm"));
        // No weight is dequantized at run time, and no float Conv or Gemm is left.
        Assert.Equal(0, ops.GetValueOrDefault("DequantizeLinear"));
        Assert.Equal(0, ops.GetValueOrDefault("Conv") + ops.GetValueOrDefault("Gemm") + ops.GetValueOrDefault("FusedConv"));
    }

    [Theory]
    [InlineData(CalibrationMethod.MinMax)]
    [InlineData(CalibrationMethod.Percentile)]
    [InlineData(CalibrationMethod.Entropy)]
    public void Every_calibration_method_tracks_the_float_model_on_a_small_mlp(CalibrationMethod method)
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.Mlp(temp.File("mlp.onnx"), inputs: 32, hidden: 64, outputs: 8, seed: 3);
        var data = RandomRows(fp32, 512, 32, seed: 5);
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), data, new StaticQuantizeOptions { Calibration = new CalibrationOptions { Method = method } });
        string int8 = temp.File("int8.onnx");
        result.Model.Save(int8);

        double cosine = SmallModels.MeanCosine(fp32, int8, RandomRows(fp32, 256, 32, seed: 9));
        Assert.True(cosine >= 0.99, $"{method}: cosine {cosine}");
    }

    [Fact]
    public void Excluded_nodes_stay_float_and_are_reported()
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.Mlp(temp.File("mlp.onnx"), inputs: 16, hidden: 16, outputs: 4, seed: 2);
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), RandomRows(fp32, 64, 16, seed: 1),
            new StaticQuantizeOptions { Exclude = ["fc2"] });
        Assert.Contains("fc2", result.FloatNodes);
        var fc2 = result.Model.Graph.Nodes.Single(n => n.Name == "fc2");
        Assert.Equal("w2", fc2.Input[1]);
        Assert.Equal(1, result.QuantizedNodes);
    }

    [Fact]
    public void An_error_budget_keeps_the_most_sensitive_nodes_in_float()
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.Mlp(temp.File("mlp.onnx"), inputs: 16, hidden: 32, outputs: 4, seed: 4, outlierScale: 400f);
        var data = RandomRows(fp32, 256, 16, seed: 2);
        var all = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), data);
        var budgeted = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), data, new StaticQuantizeOptions { ErrorBudget = 1e-7 });

        Assert.Empty(all.FloatNodes);
        Assert.NotEmpty(budgeted.FloatNodes);
        Assert.Contains(budgeted.Applied, a => a.StartsWith("mixed precision", StringComparison.Ordinal));
        string path = temp.File("budgeted.onnx");
        budgeted.Model.Save(path);
        Assert.True(SmallModels.MeanCosine(fp32, path, data) > 0.999);
    }

    [Fact]
    public void Layers_around_control_flow_are_quantized_and_the_model_stays_valid()
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.MlpWithIf(temp.File("if.onnx"));
        var result = StaticInt8Quantizer.Quantize(OnnxModel.Load(fp32), RandomRows(fp32, 32, 8, seed: 3));
        Assert.Equal(2, result.QuantizedNodes); // fc1, fc2; the branches hold no weights
        Assert.Equal(0, result.QuantizedInSubgraphs);
        Assert.Empty(result.Model.Graph.Validate());
        string path = temp.File("q.onnx");
        result.Model.Save(path);
        Assert.True(SmallModels.MeanCosine(fp32, path, RandomRows(fp32, 32, 8, seed: 4)) > 0.99);
    }

    [Fact]
    public void Old_opsets_and_models_without_weights_are_refused_clearly()
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.Mlp(temp.File("mlp.onnx"), inputs: 4, hidden: 4, outputs: 2, seed: 1);
        var old = OnnxModel.Load(fp32);
        old.SetOpset("", 9);
        var error = Assert.Throws<NotSupportedException>(() => StaticInt8Quantizer.Quantize(old, RandomRows(fp32, 8, 4, seed: 1)));
        Assert.Contains("opset 9", error.Message);
        Assert.Contains("upgrade", error.Message);

        string relu = SmallModels.ReluOnly(temp.File("relu.onnx"));
        Assert.Contains("nothing to quantize", Assert.Throws<NothingToQuantizeException>(
            () => StaticInt8Quantizer.Quantize(OnnxModel.Load(relu), RandomRows(relu, 8, 4, seed: 1))).Message);
    }

    [Fact]
    public void Calibration_data_of_the_wrong_shape_is_a_clear_error()
    {
        using var temp = new TempDirectory();
        string fp32 = SmallModels.Mlp(temp.File("mlp.onnx"), inputs: 16, hidden: 8, outputs: 2, seed: 1);
        string wrong = SmallModels.WriteRandomNpy(temp.File("wrong.npy"), 10, 15, seed: 1);
        var (inputs, _) = OrtSignatures.ReadFromFile(fp32);
        var error = Assert.Throws<InvalidDataException>(() => CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = wrong }, inputs));
        Assert.Contains("wrong.npy", error.Message);
        Assert.Contains("do not fit input", error.Message);
    }

    private static CalibrationData RandomImages(string model, int count)
    {
        var random = new Random(7);
        var pixels = new float[count * 784];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.NextSingle();
        }
        var (inputs, _) = OrtSignatures.ReadFromFile(model);
        return CalibrationData.FromDataset(new LabelledDataset(pixels, [1, 28, 28], new long[count]), inputs);
    }

    private static CalibrationData RandomRows(string model, int count, int width, int seed)
    {
        var random = new Random(seed);
        var values = new float[count * width];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = random.NextSingle() * 2 - 1;
        }
        var (inputs, _) = OrtSignatures.ReadFromFile(model);
        return CalibrationData.FromDataset(new LabelledDataset(values, [width], new long[count]), inputs);
    }

    private static Dictionary<string, int> OptimizedOps(string model, string optimizedPath)
    {
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimizedPath })
        using (new InferenceSession(model, options))
        {
        }
        return OnnxModel.Load(optimizedPath).Graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }
}
