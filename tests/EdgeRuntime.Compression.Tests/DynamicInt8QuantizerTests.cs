using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

public sealed class DynamicInt8QuantizerTests
{
    private static readonly DynamicOptions FullRange = new() { WeightRange = Int8WeightRange.Full };
    // Tests of accuracy take the weight range the quantizer picks for this CPU: full-range weights saturate the
    // u8 x s8 pair sums of x86 without VNNI, where users get 7-bit weights for that reason.
    private static readonly DynamicOptions ForThisCpu = new();

    [Fact]
    public void Mlp_in_int8_dynamic_stays_close_to_fp32()
    {
        var model = TestModels.Mlp([64, 128, 64, 10]);
        var x = Ort.RandomValues(32 * 64, seed: 2);

        var result = DynamicInt8Quantizer.Quantize(model, ForThisCpu);

        var expected = Ort.Run(model, ("x", x, [32, 64]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [32, 64]))["y"];
        // uint8 activations and int8 weights: about 1% of the output range per layer, three layers.
        Assert.True(Ort.RelativeMaxError(expected, actual) < 0.04, $"relative max error {Ort.RelativeMaxError(expected, actual)}");
        Assert.True(Ort.MeanCosine(expected, actual, 10) > 0.999);
        Assert.Equal(3, result.QuantizedNodes);
        Assert.Equal(QuantizationMode.Int8Dynamic, result.Mode);
    }

    [Fact]
    public void Onnx_runtime_fuses_every_quantized_layer_and_dequantizes_no_weight_per_run()
    {
        using var directory = new TempDirectory();
        var model = TestModels.Mlp([64, 128, 64, 10]);

        var result = DynamicInt8Quantizer.Quantize(model, FullRange);

        var ops = Ort.OptimizedOps(result.Model, directory.Path);
        int fused = ops.Count(o => o is "com.microsoft.DynamicQuantizeMatMul" or "com.microsoft.MatMulIntegerToFloat");
        Assert.Equal(3, fused);
        Assert.DoesNotContain(ops, o => o is "MatMul" or "MatMulInteger" or "DequantizeLinear" or "Gemm" or "com.microsoft.FusedGemm");
    }

    [Fact]
    public void Transformer_block_keeps_cosine_and_all_six_projections_fuse()
    {
        using var directory = new TempDirectory();
        var model = TestModels.TransformerBlock();
        var x = Ort.RandomValues(4 * 16 * 64, seed: 12);

        var result = DynamicInt8Quantizer.Quantize(model, FullRange);

        var expected = Ort.Run(model, ("x", x, [4, 16, 64]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [4, 16, 64]))["y"];
        Assert.True(Ort.MeanCosine(expected, actual, 64) > 0.995, $"cosine {Ort.MeanCosine(expected, actual, 64)}");
        // Q, K, V, output, FFN up and down have constant weights; the two attention MatMuls do not.
        Assert.Equal(6, result.QuantizedNodes);
        var ops = Ort.OptimizedOps(result.Model, directory.Path);
        Assert.Equal(6, ops.Count(o => o is "com.microsoft.DynamicQuantizeMatMul" or "com.microsoft.MatMulIntegerToFloat"));
        Assert.DoesNotContain("MatMulInteger", ops);
    }

    [Fact]
    public void Gemm_layers_with_transposed_weights_are_quantized()
    {
        var model = TestModels.Mlp([32, 48, 8], useGemm: true);
        var x = Ort.RandomValues(8 * 32, seed: 21);

        var result = DynamicInt8Quantizer.Quantize(model, ForThisCpu);

        Assert.Equal(2, result.QuantizedNodes);
        Assert.DoesNotContain(result.Model.Graph.Nodes, n => n.OpType == "Gemm");
        var expected = Ort.Run(model, ("x", x, [8, 32]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [8, 32]))["y"];
        Assert.True(Ort.RelativeMaxError(expected, actual) < 0.04, $"relative max error {Ort.RelativeMaxError(expected, actual)}");
    }

    [Fact]
    public void Convolutions_stay_float_unless_asked_for()
    {
        var model = TestModels.ConvNet();
        var x = Ort.RandomValues(2 * 3 * 16 * 16, seed: 4, low: 0, high: 1);

        var byDefault = DynamicInt8Quantizer.Quantize(model, FullRange);
        var withConv = DynamicInt8Quantizer.Quantize(model, FullRange with { QuantizeConvolutions = true });

        Assert.Equal(2, byDefault.Model.Graph.Nodes.Count(n => n.OpType == "Conv"));
        Assert.Equal(1, byDefault.QuantizedNodes);
        Assert.Equal(2, withConv.Model.Graph.Nodes.Count(n => n.OpType == "ConvInteger"));
        var expected = Ort.Run(model, ("x", x, [2, 3, 16, 16]))["y"];
        var actual = Ort.Run(withConv.Model, ("x", x, [2, 3, 16, 16]))["y"];
        Assert.True(Ort.RelativeMaxError(expected, actual) < 0.06, $"relative max error {Ort.RelativeMaxError(expected, actual)}");
    }

    [Fact]
    public void Reduced_range_keeps_weights_within_seven_bits_and_auto_follows_the_platform()
    {
        var model = TestModels.Mlp([32, 16]);

        var reduced = DynamicInt8Quantizer.Quantize(model, new DynamicOptions { WeightRange = Int8WeightRange.Reduced });
        var autoNoVnni = DynamicInt8Quantizer.Quantize(model, new DynamicOptions { Platform = new Int8Platform(IsX86: true, HasVnni: false) });
        var autoArm = DynamicInt8Quantizer.Quantize(model, new DynamicOptions { Platform = new Int8Platform(IsX86: false, HasVnni: false) });

        sbyte[] WeightsOf(QuantizationResult r) => r.Model.Graph.GetInitializerData(r.Model.Graph.Initializers.Single(i => i.DataType == (int)OnnxDataType.Int8 && i.Dims.Count == 2).Name).GetValues<sbyte>();
        Assert.Equal(63, WeightsOf(reduced).Max(v => Math.Abs((int)v)));
        Assert.Equal(63, WeightsOf(autoNoVnni).Max(v => Math.Abs((int)v)));
        Assert.Equal(127, WeightsOf(autoArm).Max(v => Math.Abs((int)v)));
        Assert.Contains("7-bit", reduced.Model.Metadata["edgeruntime.quantization.weights"]);
        Assert.Contains(autoNoVnni.Applied, a => a.Contains("x86 without VNNI"));
    }

    [Fact]
    public void Matmuls_inside_control_flow_are_quantized_and_both_branches_still_run()
    {
        var model = TestModels.WithIf();
        var x = Ort.RandomValues(2 * 32, seed: 3);

        var result = DynamicInt8Quantizer.Quantize(model, FullRange);

        Assert.Equal(3, result.QuantizedNodes);
        Assert.Equal(1, result.QuantizedInSubgraphs);
        Assert.DoesNotContain("branch", result.FloatNodes);
        Assert.Empty(result.Model.Graph.Validate());
        var then = result.Model.Graph.Nodes.Single(n => n.OpType == "If").GetSubgraphs().First();
        Assert.Contains(then.Node, n => n.OpType == "MatMulInteger");
        Assert.DoesNotContain(then.Node, n => n.OpType == "MatMul");
    }

    [Fact]
    public void Old_opsets_are_refused_with_a_reason()
    {
        var model = TestModels.Mlp([8, 4]);
        model.SetOpset("", 10);

        var error = Assert.Throws<NotSupportedException>(() => DynamicInt8Quantizer.Quantize(model));

        Assert.Contains("opset 10", error.Message);
        Assert.Contains("DynamicQuantizeLinear", error.Message);
    }

    [Fact]
    public void Weights_held_in_constant_nodes_are_quantized_and_the_constants_removed()
    {
        var model = TestModels.WithWeightsInConstants(TestModels.Mlp([32, 32, 8]));
        var x = Ort.RandomValues(4 * 32, seed: 22);

        var result = DynamicInt8Quantizer.Quantize(model, ForThisCpu);

        Assert.Equal(2, result.QuantizedNodes);
        Assert.DoesNotContain(result.Model.Graph.Nodes, n => n.OpType == "Constant" && n.Output[0].StartsWith('w'));
        var expected = Ort.Run(model, ("x", x, [4, 32]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [4, 32]))["y"];
        Assert.True(Ort.RelativeMaxError(expected, actual) < 0.04, $"relative max error {Ort.RelativeMaxError(expected, actual)}");
    }

    [Fact]
    public void Excluded_nodes_stay_float()
    {
        var model = TestModels.Mlp([16, 16, 4]);

        var result = DynamicInt8Quantizer.Quantize(model, FullRange with { ExcludedNodes = ["fc1"] });

        Assert.Equal(1, result.QuantizedNodes);
        Assert.Contains("fc1", result.FloatNodes);
        Assert.Contains(result.Model.Graph.Nodes, n => n.Name == "fc1" && n.OpType == "MatMul");
    }
}
