using EdgeRuntime.Cli;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Compression.Quantization.WeightOnly;
using EdgeRuntime.Compression.Specialization;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Every pass on the generated control-flow and recurrent models (tests/models/control-flow/make_models.py):
/// a VAD-like net per sample rate inside an If, a Loop and a Scan whose bodies hold a MatMul on outer-scope
/// weights, and a GRU whose state input is [layers, batch, hidden].
/// </summary>
public sealed class ControlFlowModelsTests
{
    private const int Samples = 12;

    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "control-flow", name);

    private static OnnxModel Load(string name) => OnnxModel.Load(ModelPath(name));

    /// <summary>Speech-like (tones) and silence-like (noise) frames, deterministic.</summary>
    private static float[] Audio(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count * 512];
        for (int s = 0; s < count; s++)
        {
            float frequency = 150 + 40 * s;
            for (int t = 0; t < 512; t++)
            {
                float tone = s % 2 == 0 ? 0.5f * MathF.Sin(2 * MathF.PI * frequency * t / 16000f) : 0;
                values[s * 512 + t] = tone + 0.05f * (random.NextSingle() * 2 - 1);
            }
        }
        return values;
    }

    private static float[] RunVad(OnnxModel model, float[] audio, long? sampleRate)
    {
        var feeds = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor("audio", new DenseTensor<float>(audio, [audio.Length / 512, 1, 512])) };
        if (sampleRate is long sr)
        {
            feeds.Add(NamedOnnxValue.CreateFromTensor("sr", new DenseTensor<long>(new[] { sr }, ReadOnlySpan<int>.Empty)));
        }
        return RunFirst(model, feeds);
    }

    private static float[] RunLoop(OnnxModel model, float[] x, long steps) => RunFirst(model,
    [
        NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [x.Length / 128, 128])),
        NamedOnnxValue.CreateFromTensor("steps", new DenseTensor<long>(new[] { steps }, ReadOnlySpan<int>.Empty)),
    ]);

    private static float[] RunScan(OnnxModel model, float[] xs, int batch) => RunFirst(model,
    [
        NamedOnnxValue.CreateFromTensor("s0", new DenseTensor<float>(new float[batch * 64], [batch, 64])),
        NamedOnnxValue.CreateFromTensor("xs", new DenseTensor<float>(xs, [xs.Length / (batch * 64), batch, 64])),
    ], "ys");

    private static float[] RunFirst(OnnxModel model, IReadOnlyList<NamedOnnxValue> feeds, string? output = null)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model.ToBytes(), options);
        using var results = session.Run(feeds);
        var result = output is null ? results.First() : results.First(r => r.Name == output);
        return result.AsTensor<float>().ToArray();
    }

    private static float MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(p => Math.Abs(p.First - p.Second));
    }

    private static IEnumerable<NodeProto> BodyNodes(OnnxModel model) =>
        ScopedGraph.All(model.Graph).Where(s => !s.IsMain).SelectMany(s => s.Graph.Nodes);

    private static void AssertValidAndLoads(OnnxModel model)
    {
        Assert.Empty(model.Graph.Validate());
        using var session = new InferenceSession(model.ToBytes());
    }

    // ---- int8-dynamic ----

    [Fact]
    public void Int8DynamicQuantizesBothBranchesOfTheVadIfIncludingLstmAndShrinksItBelow40Percent()
    {
        var model = Load("vad_if.onnx");
        var result = DynamicInt8Quantizer.Quantize(model);
        AssertValidAndLoads(result.Model);
        Assert.Equal(2, BodyNodes(result.Model).Count(n => n.OpType == "DynamicQuantizeLSTM" && n.Domain == "com.microsoft"));
        Assert.DoesNotContain(BodyNodes(result.Model), n => n.OpType == "LSTM");
        Assert.Equal(4, result.QuantizedInSubgraphs);
        long fp32 = model.ToBytes().Length, int8 = result.Model.ToBytes().Length;
        Assert.True(int8 <= 0.40 * fp32, $"int8 model is {int8} bytes, {100.0 * int8 / fp32:0.0}% of {fp32}");

        var audio = Audio(Samples, 1);
        foreach (long sr in new[] { 16000L, 8000L })
        {
            float[] expected = RunVad(model, audio, sr), actual = RunVad(result.Model, audio, sr);
            // Probabilities in [0, 1]: measured max |error| 2e-4 on these signals.
            Assert.True(MaxAbsDifference(expected, actual) < 5e-3, $"sr={sr}: max |error| {MaxAbsDifference(expected, actual)}");
        }
    }

    [Fact]
    public void Int8DynamicFoldsLstmWeightsThatTheExporterBuiltFromConstantNodes()
    {
        // As in exported VADs whose LSTM gate blocks are concatenated at run time: W = Concat(Constant, Constant).
        var model = Load("vad_if.onnx");
        var then = ScopedGraph.All(model.Graph).Single(s => s.AttributeName == "then_branch");
        var lstm = then.Graph.Nodes.Single(n => n.OpType == "LSTM");
        var weight = then.ConstantValue(lstm.Input[1])!;
        float[] values = weight.ToFloatArray();
        long rows = weight.Dims[1], columns = weight.Dims[2], half = rows / 2;
        var first = TensorData.Create(values[..(int)(half * columns)], 1, half, columns).ToProto("");
        var second = TensorData.Create(values[(int)(half * columns)..], 1, rows - half, columns).ToProto("");
        int index = then.Graph.IndexOf(lstm);
        then.Graph.InsertNode(index, GraphNodes.Create("Concat", ["w_first", "w_second"], ["w_concat"], "w_Concat").SetInt("axis", 1));
        then.Graph.InsertNode(index, GraphNodes.Create("Constant", [], ["w_second"], "w_second_Constant").SetTensor("value", second));
        then.Graph.InsertNode(index, GraphNodes.Create("Constant", [], ["w_first"], "w_first_Constant").SetTensor("value", first));
        lstm.Input[1] = "w_concat";
        then.Graph.Invalidate();
        model.Graph.Invalidate();
        model.Graph.RemoveUnusedInitializers();
        var audio = Audio(Samples, 15);
        float[] expected = RunVad(model, audio, 16000);

        var result = DynamicInt8Quantizer.Quantize(model);

        AssertValidAndLoads(result.Model);
        Assert.Equal(2, BodyNodes(result.Model).Count(n => n.OpType == "DynamicQuantizeLSTM"));
        Assert.DoesNotContain(BodyNodes(result.Model), n => n.OpType == "Concat" && n.Name == "w_Concat");
        Assert.True(MaxAbsDifference(expected, RunVad(result.Model, audio, 16000)) < 5e-3);
    }

    [Fact]
    public void Int8DynamicQuantizesTheMatMulInsideLoopAndScanBodiesReadingOuterWeights()
    {
        var loop = Load("loop_matmul.onnx");
        var result = DynamicInt8Quantizer.Quantize(loop);
        AssertValidAndLoads(result.Model);
        Assert.Contains(BodyNodes(result.Model), n => n.OpType == "MatMulInteger");
        Assert.DoesNotContain(BodyNodes(result.Model), n => n.OpType == "MatMul");
        Assert.True(result.Model.ToBytes().Length <= 0.40 * loop.ToBytes().Length);
        var x = Ort.RandomValues(4 * 128, seed: 2);
        float[] expected = RunLoop(loop, x, 5), actual = RunLoop(result.Model, x, 5);
        Assert.True(MaxAbsDifference(expected, actual) < 0.1, $"max |error| {MaxAbsDifference(expected, actual)}");

        var scan = Load("scan_matmul.onnx");
        var scanResult = DynamicInt8Quantizer.Quantize(scan);
        AssertValidAndLoads(scanResult.Model);
        Assert.Contains(BodyNodes(scanResult.Model), n => n.OpType == "MatMulInteger");
        var xs = Ort.RandomValues(6 * 2 * 64, seed: 3);
        Assert.True(MaxAbsDifference(RunScan(scan, xs, 2), RunScan(scanResult.Model, xs, 2)) < 0.1);
    }

    [Fact]
    public void Int8DynamicStoresGruWeightsAsInt8ButKeepsFloatComputeAndSaysWhy()
    {
        var model = Load("gru_state.onnx");
        var result = DynamicInt8Quantizer.Quantize(model);
        AssertValidAndLoads(result.Model);
        Assert.Contains(result.Warnings, w => w.Contains("GRU") && w.Contains("no quantized GRU kernel") && w.Contains("stored as int8"));
        var graph = result.Model.Graph;
        foreach (var gru in graph.Nodes.Where(n => n.OpType == "GRU"))
        {
            Assert.Equal("DequantizeLinear", graph.GetProducer(gru.Input[1])?.OpType);
            Assert.Equal("DequantizeLinear", graph.GetProducer(gru.Input[2])?.OpType);
        }
        Assert.True(result.Model.ToBytes().Length <= 0.40 * model.ToBytes().Length);
        var x = Ort.RandomValues(3 * 20 * 16, seed: 13);
        var state = Ort.RandomValues(2 * 3 * 32, seed: 14, -0.2f, 0.2f);
        NamedOnnxValue[] Feeds() =>
        [
            NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [3, 20, 16])),
            NamedOnnxValue.CreateFromTensor("state", new DenseTensor<float>(state, [2, 3, 32])),
        ];
        Assert.True(MaxAbsDifference(RunFirst(model, Feeds()), RunFirst(result.Model, Feeds())) < 0.02);
    }

    [Fact]
    public void NothingToQuantizeSaysWhereTheOpsAreAndWhy()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("a", OnnxDataType.Float, "batch", 4));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("b", OnnxDataType.Float, 4, 4));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 4));
        graph.AddNode("MatMul", ["a", "b"], ["y"], "computed_weight");
        var error = Assert.Throws<NothingToQuantizeException>(() => DynamicInt8Quantizer.Quantize(model));
        Assert.Contains("1 MatMul, Gemm or LSTM node(s) (1 in main graph)", error.Message);
    }

    // ---- fp16 ----

    [Fact]
    public void Fp16ConvertsTheBodiesOfIfLoopAndScan()
    {
        foreach (string name in new[] { "vad_if.onnx", "loop_matmul.onnx", "scan_matmul.onnx" })
        {
            var model = Load(name);
            var result = Fp16Converter.Convert(model);
            AssertValidAndLoads(result.Model);
            Assert.True(result.QuantizedInSubgraphs > 0, name);
            var bodies = ScopedGraph.All(result.Model.Graph).Where(s => !s.IsMain).ToList();
            Assert.Contains(bodies.SelectMany(b => b.Graph.Initializers), i => (OnnxDataType)i.DataType == OnnxDataType.Float16);
            Assert.DoesNotContain(bodies.SelectMany(b => b.Graph.Initializers), i => (OnnxDataType)i.DataType == OnnxDataType.Float && i.Dims.Count == 2 && i.Dims[0] * i.Dims[1] >= 4096);
        }
        var vad = Load("vad_if.onnx");
        var half = Fp16Converter.Convert(vad);
        var audio = Audio(Samples, 4);
        Assert.True(MaxAbsDifference(RunVad(vad, audio, 16000), RunVad(half.Model, audio, 16000)) < 1e-3);
        Assert.Contains(half.Warnings, w => w.Contains("LSTM") && w.Contains("then_branch"));
    }

    // ---- int8-static ----

    private static string WriteNpy<T>(TempDirectory directory, string name, T[] values, params long[] shape) where T : unmanaged
    {
        string path = directory.File(name);
        NpyFile.Save(path, NpyArray.FromValues<T>(values, shape));
        return path;
    }

    private static CalibrationData VadCalibration(TempDirectory directory, long[] sampleRates)
    {
        var model = Load("vad_if.onnx");
        var inputs = EdgeRuntime.Inference.OrtSignatures.ReadFromFile(ModelPath("vad_if.onnx")).Inputs;
        var files = new Dictionary<string, string>
        {
            ["audio"] = WriteNpy(directory, "audio.npy", Audio(sampleRates.Length, 5), sampleRates.Length, 1, 512),
            ["sr"] = WriteNpy(directory, "sr.npy", sampleRates, sampleRates.Length),
        };
        return CalibrationData.FromNpy(files, inputs);
    }

    [Fact]
    public void Int8StaticCalibratesTensorsInsideBothBranchesAndQuantizesTheirConv1dAndHead()
    {
        using var directory = new TempDirectory();
        var model = Load("vad_if.onnx");
        long[] rates = [.. Enumerable.Range(0, 8).Select(i => i % 2 == 0 ? 16000L : 8000L)];
        var result = StaticInt8Quantizer.Quantize(model, VadCalibration(directory, rates));
        AssertValidAndLoads(result.Model);
        Assert.Equal(6, result.QuantizedInSubgraphs); // 2 Conv1d + the Gemm head in each branch
        foreach (var branch in ScopedGraph.All(result.Model.Graph).Where(s => !s.IsMain))
        {
            var producers = branch.Graph.Nodes.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
            foreach (var conv in branch.Graph.Nodes.Where(n => n.OpType == "Conv"))
            {
                Assert.Equal("DequantizeLinear", producers[conv.Input[1]].OpType);
                Assert.True(producers.TryGetValue(conv.Input[0], out var input) && input.OpType == "DequantizeLinear", $"{conv.Name} reads a float activation");
            }
        }
        var audio = Audio(Samples, 6);
        Assert.True(MaxAbsDifference(RunVad(model, audio, 16000), RunVad(result.Model, audio, 16000)) < 0.02);
        Assert.True(MaxAbsDifference(RunVad(model, audio, 8000), RunVad(result.Model, audio, 8000)) < 0.02);
    }

    [Fact]
    public void Int8StaticKeepsTheBranchTheCalibrationDataNeverTookInFloat()
    {
        using var directory = new TempDirectory();
        var result = StaticInt8Quantizer.Quantize(Load("vad_if.onnx"), VadCalibration(directory, [16000, 16000, 16000, 16000]));
        AssertValidAndLoads(result.Model);
        Assert.Equal(3, result.QuantizedNodes);
        Assert.Contains(result.Warnings, w => w.Contains("else_branch") && w.Contains("never ran it"));
    }

    [Fact]
    public void Int8StaticQuantizesTheMatMulInsideTheLoopBody()
    {
        using var directory = new TempDirectory();
        var model = Load("loop_matmul.onnx");
        var inputs = EdgeRuntime.Inference.OrtSignatures.ReadFromFile(ModelPath("loop_matmul.onnx")).Inputs;
        var x = Ort.RandomValues(16 * 128, seed: 7);
        var data = CalibrationData.FromNpy(new Dictionary<string, string>
        {
            ["x"] = WriteNpy(directory, "x.npy", x, 16, 128),
            ["steps"] = WriteNpy(directory, "steps.npy", Enumerable.Repeat(4L, 16).ToArray(), 16),
        }, inputs);
        var result = StaticInt8Quantizer.Quantize(model, data);
        AssertValidAndLoads(result.Model);
        var body = ScopedGraph.All(result.Model.Graph).Single(s => !s.IsMain).Graph;
        var matMul = body.Nodes.Single(n => n.OpType == "MatMul");
        Assert.Equal("DequantizeLinear", body.GetProducer(matMul.Input[0])?.OpType);
        Assert.Equal("DequantizeLinear", body.GetProducer(matMul.Input[1])?.OpType);
        var sample = Ort.RandomValues(4 * 128, seed: 8);
        Assert.True(MaxAbsDifference(RunLoop(model, sample, 4), RunLoop(result.Model, sample, 4)) < 0.15);
    }

    [Fact]
    public void Int8StaticHandlesTwoLoopBodiesThatReuseTheSameNames()
    {
        using var directory = new TempDirectory();
        var model = Load("loop_matmul.onnx");
        var graph = model.Graph;
        var first = graph.Nodes.Single(n => n.OpType == "Loop");
        var second = first.Clone();
        second.Name = "Loop_again";
        second.Input[2] = "h";
        second.Output[0] = "h2";
        second.Output[1] = "means2";
        graph.AddNode(second);
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("h2", OnnxDataType.Float));
        string path = SaveTo(directory, model, "two_loops.onnx");
        var inputs = EdgeRuntime.Inference.OrtSignatures.ReadFromFile(path).Inputs;
        var data = CalibrationData.FromNpy(new Dictionary<string, string>
        {
            ["x"] = WriteNpy(directory, "x.npy", Ort.RandomValues(16 * 128, seed: 30), 16, 128),
            ["steps"] = WriteNpy(directory, "steps.npy", Enumerable.Repeat(3L, 16).ToArray(), 16),
        }, inputs);

        var result = StaticInt8Quantizer.Quantize(model, data);

        AssertValidAndLoads(result.Model);
        Assert.Equal(2, result.QuantizedInSubgraphs);
        var x = Ort.RandomValues(2 * 128, seed: 31);
        NamedOnnxValue[] Feeds() =>
        [
            NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [2, 128])),
            NamedOnnxValue.CreateFromTensor("steps", new DenseTensor<long>(new[] { 3L }, ReadOnlySpan<int>.Empty)),
        ];
        Assert.True(MaxAbsDifference(RunFirst(model, Feeds(), "h2"), RunFirst(result.Model, Feeds(), "h2")) < 0.2);
    }

    // ---- int4-weight ----

    [Fact]
    public void Int4WeightQuantizesMatMulInsideLoopAndScanBodies()
    {
        foreach (string name in new[] { "loop_matmul.onnx", "scan_matmul.onnx" })
        {
            var result = Int4WeightQuantizer.Quantize(Load(name));
            AssertValidAndLoads(result.Model);
            Assert.Contains(BodyNodes(result.Model), n => n.OpType == "MatMulNBits");
            Assert.Equal(1, result.QuantizedInSubgraphs);
        }
        var x = Ort.RandomValues(2 * 128, seed: 9);
        var loop = Load("loop_matmul.onnx");
        Assert.True(MaxAbsDifference(RunLoop(loop, x, 3), RunLoop(Int4WeightQuantizer.Quantize(loop).Model, x, 3)) < 0.3);
    }

    // ---- specialize ----

    [Theory]
    [InlineData(16000L, "then_branch")]
    [InlineData(8000L, "else_branch")]
    public void SpecializeInlinesTheTakenBranchAndKeepsTheOutputs(long sampleRate, string branch)
    {
        var model = Load("vad_if.onnx");
        var result = ModelSpecializer.Specialize(model, new Dictionary<string, string> { ["sr"] = sampleRate.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        AssertValidAndLoads(result.Model);
        Assert.DoesNotContain(ScopedGraph.All(result.Model.Graph).SelectMany(s => s.Graph.Nodes), n => n.OpType == "If");
        Assert.Equal(["audio"], result.Model.Graph.RuntimeInputs.Select(i => i.Name));
        Assert.Equal([$"If 'If_sample_rate' → {branch}"], result.InlinedIfs);
        Assert.True(result.Model.ToBytes().Length < 0.6 * model.ToBytes().Length, "the dead branch's weights are gone");
        var audio = Audio(Samples, 10);
        Assert.Equal(0f, MaxAbsDifference(RunVad(model, audio, sampleRate), RunVad(result.Model, audio, null)), 6);
    }

    [Fact]
    public void SpecializeRejectsUnknownInputsAndBadValues()
    {
        var model = Load("vad_if.onnx");
        Assert.Contains("'rate' is not an input", Assert.Throws<ArgumentException>(() => ModelSpecializer.Specialize(model, new Dictionary<string, string> { ["rate"] = "1" })).Message);
        Assert.Contains("not a valid Int64", Assert.Throws<ArgumentException>(() => ModelSpecializer.Specialize(model, new Dictionary<string, string> { ["sr"] = "fast" })).Message);
    }

    [Fact]
    public async Task SpecializeCommandWritesTheSpecialisedModelOrRefusesWhenNothingDependsOnTheInput()
    {
        using var directory = new TempDirectory();
        string output = directory.File("vad-16k.onnx");
        var (code, text, error) = await RunAsync("specialize", ModelPath("vad_if.onnx"), "--input", "sr=16000", "-o", output);
        Assert.True(code == 0, error);
        Assert.Contains("If 'If_sample_rate' → then_branch", text);
        var specialized = OnnxModel.Load(output);
        Assert.Equal("sr=16000", specialized.Metadata["edgeruntime.specialized"]);
        AssertValidAndLoads(specialized);

        string unchanged = directory.File("loop.onnx");
        var (loopCode, _, loopError) = await RunAsync("specialize", ModelPath("loop_matmul.onnx"), "--input", "steps=3", "-o", unchanged);
        Assert.Equal(1, loopCode);
        Assert.Contains("nothing to specialize", loopError);
        Assert.False(File.Exists(unchanged));

        var (badCode, _, badError) = await RunAsync("specialize", ModelPath("vad_if.onnx"), "--input", "sr", "-o", output);
        Assert.Equal(1, badCode);
        Assert.Contains("expected NAME=VALUE", badError);
    }

    [Fact]
    public async Task ALadderBuiltForAFixedSampleRateIsMadeFromThatBranchAndRecordsIt()
    {
        using var directory = new TempDirectory();
        string audio = WriteNpy(directory, "audio.npy", Audio(16, 9), 16, 1, 512);
        string bundle = directory.File("vad16");
        var (code, text, error) = await RunAsync("build", ModelPath("vad_if.onnx"), "--fix-input", "sr=16000", "--calib", $"audio={audio}",
            "--data", audio, "--prune", "0.5", "--prune-samples", "16", "--round-to", "1", "-o", bundle);
        Assert.True(code == 0, $"{text}\n{error}");
        Assert.Contains("specialised for sr=16000", text);

        var manifest = EdgeRuntime.Bundles.ModelBundle.Open(bundle).Manifest;
        Assert.Equal("16000", manifest.FixedInputs!["sr"]);
        Assert.Equal(["audio"], manifest.Inputs.Select(i => i.Name));
        var reference = OnnxModel.Load(Path.Combine(bundle, manifest.FindVariant(manifest.ReferenceVariant)!.File));
        Assert.DoesNotContain(reference.Graph.Nodes, n => n.OpType == "If");
        Assert.True(manifest.Variants.Count > 1, text);

        var (refused, _, refusal) = await RunAsync("build", ModelPath("loop_matmul.onnx"), "--fix-input", "steps=3", "--calib", $"audio={audio}",
            "--data", audio, "-o", directory.File("loop"));
        Assert.Equal(1, refused);
        Assert.Contains("nothing to specialize", refusal);
    }

    // ---- state input with the batch on axis 1 ----

    [Fact]
    public async Task DiffAndCalibrationFeedAStateWhoseBatchIsOnAxis1()
    {
        using var directory = new TempDirectory();
        string model = ModelPath("gru_state.onnx");
        const int count = 10;
        string x = WriteNpy(directory, "x.npy", Ort.RandomValues(count * 20 * 16, seed: 11), count, 20, 16);
        // One [layers, hidden] state per sample, samples first in the file.
        string state = WriteNpy(directory, "state.npy", Ort.RandomValues(count * 2 * 32, seed: 12, -0.2f, 0.2f), count, 2, 32);
        string fp16 = directory.File("gru.fp16.onnx");
        Fp16Converter.Convert(Load("gru_state.onnx")).Model.Save(fp16);

        var (code, output, error) = await RunAsync("diff", model, fp16, "--data", $"x={x}", "--data", $"state={state}", "--batch-axis", "state=1", "--batch", "4");
        Assert.True(code == 0, error);
        Assert.Contains("new_state", output);
        var (inferredCode, inferred, inferredError) = await RunAsync("diff", model, fp16, "--data", $"x={x}", "--data", $"state={state}", "--batch", "4");
        Assert.True(inferredCode == 0, inferredError); // axis 1 is the one named "batch" like x's axis 0
        Assert.Equal(output, inferred);

        string wrong = WriteNpy(directory, "wrong.npy", new float[count * 3 * 32], count, 3, 32);
        var (wrongCode, _, wrongError) = await RunAsync("diff", model, fp16, "--data", $"x={x}", "--data", $"state={wrong}", "--batch-axis", "state=1");
        Assert.Equal(1, wrongCode);
        Assert.Contains("input 'state'", wrongError);
        Assert.Contains("[2,batch,32]", wrongError);
        Assert.Contains("[3,32]", wrongError);

        string quantized = directory.File("gru.int8.onnx");
        var (quantizeCode, _, quantizeError) = await RunAsync("quantize", model, "--mode", "int8-static", "--calib", $"x={x}", $"state={state}", "--batch-axis", "state=1", "-o", quantized);
        Assert.True(quantizeCode == 0, quantizeError);
        AssertValidAndLoads(OnnxModel.Load(quantized));

        var inputs = EdgeRuntime.Inference.OrtSignatures.ReadFromFile(model).Inputs;
        var batches = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = x, ["state"] = state }, inputs, batchSize: 4,
            batchAxes: new Dictionary<string, int> { ["state"] = 1 }).Batches().ToList();
        Assert.Equal([2L, 4, 32], batches[0].Single(t => t.Name == "state").Shape);
        Assert.Equal([2L, 2, 32], batches[^1].Single(t => t.Name == "state").Shape);
    }

    [Fact]
    public async Task QuantizeExitsNonZeroAndWritesNothingWhenNothingChanges()
    {
        using var directory = new TempDirectory();
        var model = OnnxModel.Create();
        model.Graph.Inputs.Add(OnnxValueInfo.CreateTensor("a", OnnxDataType.Float, "batch", 4));
        model.Graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 4));
        model.Graph.AddNode("Relu", ["a"], ["y"]);
        string path = directory.File("relu.onnx"), output = directory.File("out.onnx");
        model.Save(path);
        var (code, _, error) = await RunAsync("quantize", path, "--mode", "int8-dynamic", "-o", output);
        Assert.Equal(1, code);
        Assert.Contains("nothing to quantize: the model has no MatMul, Gemm or LSTM node", error);
        Assert.False(File.Exists(output));
    }

    // ---- a weight both branches read ----

    /// <summary>An If whose branches use the same main-graph weight (one layer, two paths), so it cannot move into either.</summary>
    private static OnnxModel SharedWeightIf()
    {
        var model = OnnxModel.Create(opsetVersion: 13);
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 64));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("flag", OnnxDataType.Bool));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 64));
        graph.AddInitializer(TensorData.Create(Ort.RandomValues(64 * 64, seed: 21, -0.2f, 0.2f), 64, 64).ToProto("shared_w"));
        var then = new GraphProto { Name = "then" };
        then.Node.Add(GraphNodes.Create("MatMul", ["x", "shared_w"], ["then_mm"], "then_MatMul"));
        then.Node.Add(GraphNodes.Create("Relu", ["then_mm"], ["then_y"], "then_Relu"));
        then.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape("then_y", OnnxDataType.Float));
        var otherwise = new GraphProto { Name = "else" };
        otherwise.Node.Add(GraphNodes.Create("MatMul", ["x", "shared_w"], ["else_mm"], "else_MatMul"));
        otherwise.Node.Add(GraphNodes.Create("Tanh", ["else_mm"], ["else_y"], "else_Tanh"));
        otherwise.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape("else_y", OnnxDataType.Float));
        var node = graph.AddNode("If", ["flag"], ["y"], "If_flag");
        node.SetGraph("then_branch", then);
        node.SetGraph("else_branch", otherwise);
        return model;
    }

    private static float[] RunShared(OnnxModel model, float[] x, bool flag) => RunFirst(model,
    [
        NamedOnnxValue.CreateFromTensor("x", new DenseTensor<float>(x, [x.Length / 64, 64])),
        NamedOnnxValue.CreateFromTensor("flag", new DenseTensor<bool>(new[] { flag }, ReadOnlySpan<int>.Empty)),
    ]);

    [Fact]
    public void AWeightBothBranchesReadIsQuantizedOnceForDynamicAndPerBranchForStatic()
    {
        using var directory = new TempDirectory();
        var model = SharedWeightIf();
        var x = Ort.RandomValues(4 * 64, seed: 22);

        var dynamic = DynamicInt8Quantizer.Quantize(model);
        AssertValidAndLoads(dynamic.Model);
        Assert.Equal(2, dynamic.QuantizedInSubgraphs);
        var int8Weights = ScopedGraph.All(dynamic.Model.Graph).SelectMany(g => g.Graph.Initializers.Select(i => (g.IsMain, i))).Where(p => (OnnxDataType)p.i.DataType == OnnxDataType.Int8 && p.i.Dims.Count == 2).ToList();
        Assert.True(int8Weights is [(true, _)], $"one int8 copy, in the main graph where both branches see it: {string.Join(", ", int8Weights.Select(p => $"{p.i.Name} main={p.IsMain}"))}");
        Assert.Null(dynamic.Model.Graph.FindInitializer("shared_w"));

        string path = WriteNpy(directory, "x.npy", Ort.RandomValues(16 * 64, seed: 23), 16, 64);
        string flags = WriteNpy(directory, "flag.npy", Enumerable.Range(0, 16).Select(i => i % 2 == 0).ToArray(), 16);
        var inputs = EdgeRuntime.Inference.OrtSignatures.ReadFromFile(SaveTo(directory, model, "shared.onnx")).Inputs;
        var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = path, ["flag"] = flags }, inputs);
        var quantized = StaticInt8Quantizer.Quantize(model, data);
        AssertValidAndLoads(quantized.Model);
        Assert.Equal(2, quantized.QuantizedInSubgraphs);
        Assert.Null(quantized.Model.Graph.FindInitializer("shared_w"));

        var half = Fp16Converter.Convert(model);
        AssertValidAndLoads(half.Model);
        foreach (bool flag in new[] { true, false })
        {
            float[] expected = RunShared(model, x, flag);
            float range = expected.Max() - expected.Min();
            float dynamicError = MaxAbsDifference(expected, RunShared(dynamic.Model, x, flag));
            float staticError = MaxAbsDifference(expected, RunShared(quantized.Model, x, flag));
            float halfError = MaxAbsDifference(expected, RunShared(half.Model, x, flag));
            Assert.True(dynamicError < 0.05 * range && staticError < 0.05 * range && halfError < 0.005 * range,
                $"flag {flag}: output range {range}, max |error| dynamic {dynamicError}, static {staticError}, fp16 {halfError}");
        }
    }

    private static string SaveTo(TempDirectory directory, OnnxModel model, string name)
    {
        string path = directory.File(name);
        model.Save(path);
        return path;
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await EdgertCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
