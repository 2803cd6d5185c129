using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

/// <summary>Scopes, MAC counting and validation inside If/Loop/Scan bodies, on the generated control-flow models.</summary>
public sealed class ControlFlowGraphTests
{
    private static OnnxModel Load(string name) => OnnxModel.Load(Path.Combine(AppContext.BaseDirectory, "control-flow", name));

    [Fact]
    public void MacCounterTakesTheDearerBranchOfAnIfWithConv1dAndLstm()
    {
        var cost = MacCounter.Count(Load("vad_if.onnx"));
        Assert.Empty(cost.Unresolved);
        // 8 kHz branch: Conv1d 24x1x8 over 127 steps, Conv1d 32x24x3 over 63, LSTM 63 steps x 4 gates x 64 x (32 + 64), head 64.
        long eightKilohertz = 24 * 8 * 127 + 32 * 24 * 3 * 63 + 63L * 4 * 64 * (32 + 64) + 64;
        Assert.Equal(eightKilohertz, cost.TotalMacs);
    }

    [Fact]
    public void MacCounterCountsDynamicQuantizeLstmLikeTheLstmItReplaces()
    {
        var model = Load("vad_if.onnx");
        var then = ScopedGraph.All(model.Graph).Single(s => s.AttributeName == "then_branch");
        var lstm = then.Graph.Nodes.Single(n => n.OpType == "LSTM");
        var graph = then.InitializerOwner(lstm.Input[1])!;
        foreach (int input in new[] { 1, 2 })
        {
            // Same dims as the int8 weights would have: [dirs, rows, cols] -> [dirs, cols, rows].
            var weight = graph.FindInitializer(lstm.Input[input])!;
            var transposed = weight.Clone();
            transposed.Name = lstm.Input[input] + "_t";
            transposed.Dims[1] = weight.Dims[2];
            transposed.Dims[2] = weight.Dims[1];
            graph.AddInitializer(transposed);
            lstm.Input[input] = transposed.Name;
        }
        long before = MacCounter.Count(Load("vad_if.onnx")).TotalMacs;
        lstm.Domain = "com.microsoft";
        lstm.OpType = "DynamicQuantizeLSTM";
        var cost = MacCounter.Count(model);
        Assert.Empty(cost.Unresolved);
        Assert.Equal(before, cost.TotalMacs);
    }

    [Fact]
    public void MacCounterFollowsDynamicQuantizeLinearChains()
    {
        var model = OnnxModel.Create(opsetVersion: 13);
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, 2, 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Int32, 2, 4));
        graph.AddInitializer(TensorData.Create(new sbyte[32], 8, 4).ToProto("w"));
        graph.AddInitializer(TensorData.Scalar((sbyte)0).ToProto("w_zero"));
        graph.AddNode("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]);
        graph.AddNode("MatMulInteger", ["xq", "w", "xz", "w_zero"], ["y"]);
        var cost = MacCounter.Count(model);
        Assert.Empty(cost.Unresolved);
        Assert.Equal(2 * 8 * 4, cost.TotalMacs);
    }

    [Fact]
    public void MacCounterMultipliesALoopBodyByAConstantTripCountAndSaysWhenItIsNot()
    {
        var model = Load("loop_matmul.onnx");
        var open = MacCounter.Count(model);
        Assert.Contains(open.Unresolved, u => u.Reason.Contains("trip count is not a constant"));

        model.Graph.Inputs.Remove(model.Graph.Inputs.Single(i => i.Name == "steps"));
        model.Graph.AddInitializer(TensorData.Scalar(3L).ToProto("steps"));
        var fixedCount = MacCounter.Count(model);
        Assert.Empty(fixedCount.Unresolved);
        Assert.Equal(3L * 128 * 128, fixedCount.TotalMacs);
    }

    [Fact]
    public void MacCounterMultipliesAScanBodyByTheScannedLengthAndCountsGruLayers()
    {
        var scan = MacCounter.Count(Load("scan_matmul.onnx"), new Dictionary<string, long[]> { ["xs"] = [7, 2, 64], ["s0"] = [2, 64] });
        Assert.Empty(scan.Unresolved);
        Assert.Equal(7L * 2 * 64 * 64, scan.TotalMacs);

        var gru = MacCounter.Count(Load("gru_state.onnx"));
        Assert.Empty(gru.Unresolved);
        Assert.Equal(20L * 3 * 32 * (16 + 32) + 20L * 3 * 32 * (32 + 32) + 32 * 2, gru.TotalMacs);
    }

    [Fact]
    public void LocalizingMovesWeightsIntoTheOnlyBodyThatReadsThem()
    {
        var model = Load("vad_if.onnx");
        var scopes = ScopedGraph.All(model.Graph);
        var then = scopes.Single(s => s.AttributeName == "then_branch");
        Assert.Empty(then.Graph.Initializers);
        var conv = then.Graph.Nodes.First(n => n.OpType == "Conv");
        Assert.NotNull(then.ConstantValue(conv.Input[1])); // resolved from the main graph
        Assert.Same(model.Graph, then.InitializerOwner(conv.Input[1]));

        int moved = ScopedGraph.LocalizeInitializers(model.Graph);
        Assert.Equal(9, moved); // two Conv1d and the head with biases, LSTM W, R and B
        Assert.Equal(["sr_16000"], model.Graph.Initializers.Select(i => i.Name));
        Assert.Same(then.Graph.Proto, ScopedGraph.All(model.Graph).Single(s => s.AttributeName == "then_branch").InitializerOwner(conv.Input[1])!.Proto);
        Assert.Empty(model.Graph.Validate());
        Assert.Equal("If 'If_sample_rate' then_branch", then.Location);
    }

    [Fact]
    public void ValidatorFindsABodyReadingANameNoScopeDefines()
    {
        var model = Load("loop_matmul.onnx");
        var body = model.Graph.Nodes.Single(n => n.OpType == "Loop").GetSubgraphs().Single();
        body.Node.Single(n => n.OpType == "MatMul").Input[1] = "missing_weight";
        var problems = model.Graph.Validate();
        Assert.Contains(problems, p => p.Kind == GraphProblemKind.UndefinedInput && p.Message.Contains("'missing_weight'") && p.Message.Contains("Loop_steps"));
    }
}
