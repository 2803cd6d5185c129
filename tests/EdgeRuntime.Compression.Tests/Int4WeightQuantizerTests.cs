using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.WeightOnly;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Tests;

public sealed class Int4WeightQuantizerTests
{
    private static readonly Int4Options FloatCompute = new() { AccuracyLevel = 0 };

    [Theory]
    [InlineData(32, false)]
    [InlineData(64, true)]
    [InlineData(128, false)]
    public void MatMulNBits_computes_exactly_x_times_the_dequantized_weights(int blockSize, bool symmetric)
    {
        // K = 200 is no multiple of any block size, so the padding of the last block is exercised too.
        var model = TestModels.Mlp([200, 24]);
        var x = Ort.RandomValues(5 * 200, seed: 30);

        var result = Int4WeightQuantizer.Quantize(model, FloatCompute with { BlockSize = blockSize, Symmetric = symmetric });

        var graph = result.Model.Graph;
        var node = graph.Nodes.Single(n => n.OpType == "MatMulNBits");
        Assert.Equal("com.microsoft", node.Domain);
        var weight = Dequantize(graph, node, blockSize);
        var bias = graph.GetInitializerData("b0").ToFloatArray();
        var expected = new float[5 * 24];
        for (int row = 0; row < 5; row++)
        {
            for (int column = 0; column < 24; column++)
            {
                double sum = bias[column];
                for (int k = 0; k < 200; k++)
                {
                    sum += x[row * 200 + k] * weight[k * 24 + column];
                }
                expected[row * 24 + column] = (float)sum;
            }
        }
        var actual = Ort.Run(result.Model, ("x", x, [5, 200]))["y"];
        Assert.True(Ort.MaxAbsDifference(expected, actual) < 1e-4, $"max difference {Ort.MaxAbsDifference(expected, actual)}");
    }

    [Fact]
    public void Mlp_in_int4_stays_close_to_fp32_and_shrinks_to_a_fifth()
    {
        var model = TestModels.Mlp([256, 256, 64]);
        var x = Ort.RandomValues(16 * 256, seed: 31);

        var result = Int4WeightQuantizer.Quantize(model);

        var expected = Ort.Run(model, ("x", x, [16, 256]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [16, 256]))["y"];
        double cosine = Ort.MeanCosine(expected, actual, 64);
        TestContext.Current.TestOutputHelper?.WriteLine($"mlp cosine {cosine} ratio {(double)result.Model.ToBytes().Length / model.ToBytes().Length}");
        Assert.True(cosine > 0.99, $"cosine {cosine}");
        Assert.Equal(2, result.QuantizedNodes);
        Assert.Equal(QuantizationMode.Int4Weight, result.Mode);
        double ratio = (double)result.Model.ToBytes().Length / model.ToBytes().Length;
        Assert.True(ratio < 0.2, $"size ratio {ratio}");
    }

    [Fact]
    public void Embedding_tables_become_block_quantized_gathers()
    {
        var model = Embedding(rows: 300, width: 64);
        long[] ids = [0, 5, 299, 17, 42, 5];

        var result = Int4WeightQuantizer.Quantize(model);

        var node = Assert.Single(result.Model.Graph.Nodes);
        Assert.Equal("GatherBlockQuantized", node.OpType);
        var expected = RunIds(model, ids);
        var actual = RunIds(result.Model, ids);
        // 4-bit asymmetric blocks of 32: each value within half a step, (max - min) / 30 of its block.
        Assert.True(Ort.MaxAbsDifference(expected, actual) < 2.0 / 30, $"max difference {Ort.MaxAbsDifference(expected, actual)}");
        Assert.True(result.Model.ToBytes().Length < 0.2 * model.ToBytes().Length);
    }

    [Fact]
    public void Weights_held_in_constant_nodes_are_quantized()
    {
        var model = TestModels.WithWeightsInConstants(TestModels.Mlp([64, 32]));
        var x = Ort.RandomValues(4 * 64, seed: 33);

        var result = Int4WeightQuantizer.Quantize(model);

        Assert.Equal(1, result.QuantizedNodes);
        var expected = Ort.Run(model, ("x", x, [4, 64]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [4, 64]))["y"];
        Assert.True(Ort.MeanCosine(expected, actual, 32) > 0.99);
    }

    [Fact]
    public void Transformer_block_in_int4_keeps_cosine()
    {
        var model = TestModels.TransformerBlock();
        var x = Ort.RandomValues(4 * 16 * 64, seed: 32);

        var result = Int4WeightQuantizer.Quantize(model);

        var expected = Ort.Run(model, ("x", x, [4, 16, 64]))["y"];
        var actual = Ort.Run(result.Model, ("x", x, [4, 16, 64]))["y"];
        double cosine = Ort.MeanCosine(expected, actual, 64);
        TestContext.Current.TestOutputHelper?.WriteLine($"transformer cosine {cosine}");
        Assert.True(cosine > 0.98, $"cosine {cosine}");
        Assert.Equal(6, result.QuantizedNodes);
    }

    [Fact]
    public void Gptq_leaves_less_output_error_than_round_to_nearest_on_correlated_inputs()
    {
        using var directory = new TempDirectory();
        const int width = 128;
        var model = TestModels.Mlp([width, 64], seed: 5);
        var calibration = Correlated(512, width, seed: 40);
        var heldOut = Correlated(256, width, seed: 41);
        string file = Ort.SaveNpy(directory.File("calibration.npy"), calibration, 512, width);
        var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = file }, [Signature(width)], batchSize: 64);
        var options = FloatCompute with { BlockSize = 128 };

        var rtn = Int4WeightQuantizer.Quantize(model, options);
        var gptq = Int4WeightQuantizer.Quantize(model, options with { Algorithm = Int4Algorithm.Gptq }, data);

        var expected = Ort.Run(model, ("x", heldOut, [256, width]))["y"];
        double rtnError = MeanSquare(expected, Ort.Run(rtn.Model, ("x", heldOut, [256, width]))["y"]);
        double gptqError = MeanSquare(expected, Ort.Run(gptq.Model, ("x", heldOut, [256, width]))["y"]);
        TestContext.Current.TestOutputHelper?.WriteLine($"GPTQ {gptqError} RTN {rtnError}");
        Assert.True(gptqError < 0.7 * rtnError, $"GPTQ {gptqError} vs round-to-nearest {rtnError}");
        Assert.Contains(gptq.Applied, a => a.Contains("GPTQ"));
    }

    [Fact]
    public void Gptq_without_calibration_and_bad_options_are_refused_with_reasons()
    {
        var model = TestModels.Mlp([32, 8]);

        var noData = Assert.Throws<ArgumentException>(() => Int4WeightQuantizer.Quantize(model, new Int4Options { Algorithm = Int4Algorithm.Gptq }));
        var badBlock = Assert.Throws<ArgumentException>(() => Int4WeightQuantizer.Quantize(model, new Int4Options { BlockSize = 48 }));

        Assert.Contains("calibration", noData.Message);
        Assert.Contains("32, 64 or 128", badBlock.Message);
    }

    [Fact]
    public void Calibration_data_of_the_wrong_shape_is_a_clear_error()
    {
        using var directory = new TempDirectory();
        string file = Ort.SaveNpy(directory.File("wrong.npy"), new float[10 * 5], 10, 5);

        var error = Assert.Throws<InvalidDataException>(() => CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = file }, [Signature(32)]));

        Assert.Contains("[5]", error.Message);
        Assert.Contains("x", error.Message);
    }

    [Fact]
    public void Matmuls_inside_control_flow_are_quantized()
    {
        var model = TestModels.WithIf();

        var result = Int4WeightQuantizer.Quantize(model);

        Assert.Equal(3, result.QuantizedNodes);
        Assert.Equal(1, result.QuantizedInSubgraphs);
        Assert.Contains(result.Model.Graph.Nodes.Single(n => n.OpType == "If").GetSubgraphs().First().Node, n => n.OpType == "MatMulNBits");
        Assert.Empty(result.Model.Graph.Validate());
    }

    private static OnnxModel Embedding(int rows, int width)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("ids", OnnxDataType.Int64, "batch"));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("vectors", OnnxDataType.Float, "batch", width));
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(rows * width, seed: 34), rows, width).ToProto("table"));
        graph.AddNode("Gather", ["table", "ids"], ["vectors"], "lookup");
        return model;
    }

    private static float[] RunIds(OnnxModel model, long[] ids)
    {
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(model.ToBytes());
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor("ids", new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids, [ids.Length]))]);
        return [.. results.Single().AsEnumerable<float>()];
    }

    private static TensorSignature Signature(int width) =>
        new("x", ElementType.Float32, [TensorDimension.Symbolic("batch"), TensorDimension.Fixed(width)]);

    /// <summary>Inputs living near a low-dimensional subspace with uneven feature scales, as real activations do.</summary>
    private static float[] Correlated(int rows, int width, int seed)
    {
        var random = new Random(seed);
        var basis = Ort.RandomValues(8 * width, seed: 99);
        var featureScale = Enumerable.Range(0, width).Select(i => 0.2f + 3f * (i % 7) / 7f).ToArray();
        var values = new float[rows * width];
        for (int r = 0; r < rows; r++)
        {
            var latent = Enumerable.Range(0, 8).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            for (int i = 0; i < width; i++)
            {
                float sum = 0.05f * (float)(random.NextDouble() * 2 - 1);
                for (int l = 0; l < 8; l++)
                {
                    sum += latent[l] * basis[l * width + i];
                }
                values[r * width + i] = sum * featureScale[i];
            }
        }
        return values;
    }

    private static double MeanSquare(float[] a, float[] b) => a.Zip(b).Average(p => (double)(p.First - p.Second) * (p.First - p.Second));

    /// <summary>Reads MatMulNBits' inputs back as documented: codes low nibble first along K, scales and packed zero points per (column, block).</summary>
    private static float[] Dequantize(OnnxGraph graph, global::Onnx.NodeProto node, int blockSize)
    {
        int k = (int)node.GetInt("K"), n = (int)node.GetInt("N");
        int blocks = (k + blockSize - 1) / blockSize;
        var packed = graph.GetInitializerData(node.Input[1]);
        Assert.Equal(new long[] { n, blocks, blockSize / 2 }, packed.Dims);
        byte[] codes = packed.GetValues<byte>();
        float[] scales = graph.GetInitializerData(node.Input[2]).ToFloatArray();
        byte[]? zeroPoints = node.Input.Count > 3 ? graph.GetInitializerData(node.Input[3]).GetValues<byte>() : null;
        var weight = new float[k * n];
        for (int column = 0; column < n; column++)
        {
            for (int row = 0; row < k; row++)
            {
                int block = row / blockSize, within = row % blockSize;
                byte pair = codes[(column * blocks + block) * (blockSize / 2) + within / 2];
                int code = within % 2 == 0 ? pair & 0x0F : pair >> 4;
                int zeroPoint = 8;
                if (zeroPoints is not null)
                {
                    byte zpPair = zeroPoints[column * ((blocks + 1) / 2) + block / 2];
                    zeroPoint = block % 2 == 0 ? zpPair & 0x0F : zpPair >> 4;
                }
                weight[row * n + column] = (code - zeroPoint) * scales[column * blocks + block];
            }
        }
        return weight;
    }
}
