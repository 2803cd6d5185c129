using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Compression.Tests;

public sealed class Fp16ConverterTests
{
    [Fact]
    public void Conv_net_in_fp16_matches_fp32_within_float16_rounding()
    {
        var model = TestModels.ConvNet();
        var x = Ort.RandomValues(4 * 3 * 16 * 16, seed: 5, low: 0, high: 1);

        var result = Fp16Converter.Convert(model);

        var expected = Ort.Run(model, ("x", x, [4, 3, 16, 16]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [4, 3, 16, 16]))["y"];
        // float16 keeps 11 significant bits: 1e-2 of the largest logit leaves room for a few roundings per layer.
        Assert.True(Ort.RelativeMaxError(expected, actual) < 1e-2, $"relative max error {Ort.RelativeMaxError(expected, actual)}");
        Assert.Equal(QuantizationMode.Fp16, result.Mode);
        Assert.Empty(result.Warnings);
        Assert.All(result.Model.Graph.Initializers, i => Assert.Equal(OnnxDataType.Float16, (OnnxDataType)i.DataType));
    }

    [Fact]
    public void Inputs_and_outputs_keep_float32_and_the_file_halves()
    {
        var model = TestModels.ConvNet();

        var result = Fp16Converter.Convert(model);

        Assert.Equal(OnnxDataType.Float, result.Model.Graph.Inputs.Single().GetElementType());
        Assert.Equal(OnnxDataType.Float, result.Model.Graph.Outputs.Single().GetElementType());
        double ratio = (double)result.Model.ToBytes().Length / model.ToBytes().Length;
        Assert.InRange(ratio, 0.45, 0.6);
    }

    [Fact]
    public void Transformer_block_in_fp16_keeps_cosine_to_fp32()
    {
        var model = TestModels.TransformerBlock();
        var x = Ort.RandomValues(2 * 16 * 64, seed: 9);

        var result = Fp16Converter.Convert(model);

        var expected = Ort.Run(model, ("x", x, [2, 16, 64]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [2, 16, 64]))["y"];
        Assert.True(Ort.MeanCosine(expected, actual, 64) > 0.9999);
        Assert.True(Ort.MaxAbsDifference(expected, actual) < 2e-2, $"max error {Ort.MaxAbsDifference(expected, actual)}");
    }

    [Fact]
    public void Fixture_cnn_constants_become_float16_and_predictions_hold()
    {
        var model = OnnxModel.Load(SampleModels.FashionCnn(), "fashion-cnn");
        var x = Ort.RandomValues(16 * 28 * 28, seed: 3, low: 0, high: 1);

        var result = Fp16Converter.Convert(model);

        var constants = result.Model.Graph.Nodes.Where(n => n.OpType == "Constant").ToList();
        Assert.NotEmpty(constants);
        Assert.All(constants, c => Assert.Equal(OnnxDataType.Float16, (OnnxDataType)c.FindAttribute("value")!.T.DataType));
        var expected = Ort.Run(model, ("input", x, [16, 1, 28, 28]))["logits"];
        var actual = Ort.Run(result.Model, ("input", x, [16, 1, 28, 28]))["logits"];
        Assert.True(Ort.RelativeMaxError(expected, actual) < 1e-2);
        Assert.Equal(ArgMaxRows(expected, 10), ArgMaxRows(actual, 10));
    }

    [Fact]
    public void Blocked_ops_stay_float32_with_a_warning_naming_them_and_integer_tensors_are_untouched()
    {
        var model = TestModels.WithTopK();
        var x = Ort.RandomValues(3 * 8, seed: 4);

        var result = Fp16Converter.Convert(model);

        Assert.Contains(result.Warnings, w => w.Contains("TopK") && w.Contains("top3"));
        Assert.Contains(result.Warnings, w => w.Contains("Range") && w.Contains("no float16"));
        Assert.Contains("top3", result.FloatNodes);
        var graph = result.Model.Graph;
        Assert.Equal(OnnxDataType.Int64, (OnnxDataType)graph.FindInitializer("k")!.DataType);
        Assert.Equal(OnnxDataType.Float, (OnnxDataType)graph.FindInitializer("start")!.DataType);
        Assert.Equal(OnnxDataType.Float16, (OnnxDataType)graph.FindInitializer("w")!.DataType);
        var expected = Ort.Run(model, ("x", x, [3, 8]));
        var actual = Ort.Run(result.Model, ("x", x, [3, 8]));
        Assert.True(Ort.MaxAbsDifference(expected["values"], actual["values"]) < 1e-2);
        Assert.Equal(expected["steps"], actual["steps"]);
    }

    [Fact]
    public void If_branches_are_converted_and_both_still_run()
    {
        var model = TestModels.WithIf();
        var x = Ort.RandomValues(2 * 32, seed: 6);

        var result = Fp16Converter.Convert(model);

        Assert.True(result.QuantizedInSubgraphs > 0);
        Assert.Empty(result.Model.Graph.Validate());
        var ifNode = result.Model.Graph.Nodes.Single(n => n.OpType == "If");
        var thenWeight = ifNode.GetSubgraphs().First().Initializer.Single();
        Assert.Equal(OnnxDataType.Float16, (OnnxDataType)thenWeight.DataType);
        foreach (bool flag in new[] { true, false })
        {
            var expected = RunWithFlag(model, x, flag);
            var actual = RunWithFlag(result.Model, x, flag);
            Assert.True(Ort.RelativeMaxError(expected, actual) < 1e-2, $"flag {flag}: {Ort.RelativeMaxError(expected, actual)}");
        }
    }

    [Fact]
    public void Loop_body_is_converted_and_the_loop_keeps_float32_at_its_interface()
    {
        var model = TestModels.WithLoop();
        var x = Ort.RandomValues(2 * 16, seed: 8);

        var result = Fp16Converter.Convert(model);

        Assert.True(result.QuantizedInSubgraphs > 0);
        Assert.Empty(result.Model.Graph.Validate());
        var expected = Ort.Run(model, ("x", x, [2, 16]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [2, 16]))["y"];
        Assert.True(Ort.RelativeMaxError(expected, actual) < 1e-2);
    }

    [Fact]
    public void Excluded_nodes_stay_float32_and_unknown_names_are_refused()
    {
        var model = TestModels.Mlp([16, 32, 8]);

        var result = Fp16Converter.Convert(model, new Fp16Options { ExcludedNodes = ["fc0"] });

        Assert.Contains("fc0", result.FloatNodes);
        Assert.Equal(OnnxDataType.Float, (OnnxDataType)result.Model.Graph.FindInitializer("w0")!.DataType);
        Assert.Equal(OnnxDataType.Float16, (OnnxDataType)result.Model.Graph.FindInitializer("w1")!.DataType);
        var error = Assert.Throws<ArgumentException>(() => Fp16Converter.Convert(model, new Fp16Options { ExcludedNodes = ["nope"] }));
        Assert.Contains("'nope'", error.Message);
    }

    private static float[] RunWithFlag(OnnxModel model, float[] x, bool flag)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model.ToBytes());
        using var results = session.Run(
        [
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("x", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [2, 32])),
            Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("flag", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<bool>(new[] { flag }, [])),
        ]);
        return [.. results.Single(r => r.Name == "y").AsEnumerable<float>()];
    }

    private static int[] ArgMaxRows(float[] values, int width) =>
        [.. Enumerable.Range(0, values.Length / width).Select(r => Array.IndexOf(values, values.Skip(r * width).Take(width).Max(), r * width) - r * width)];
}
