using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;
using EdgeRuntime.Testing;

namespace EdgeRuntime.Compression.Tests;

/// <summary>Which channels structured pruning removes, and the depthwise refit of the final pass.</summary>
public sealed class PruneSelectionTests
{
    [Fact]
    public void Greedy_selection_removes_a_duplicated_channel_the_refit_can_replace_rather_than_the_weakest_independent_one()
    {
        var model = DuplicatedChannels();
        using var temp = new TempDirectory();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 64, 3, 8, 8);
        var options = new StructuredPruneOptions { Ratio = 0.25, WorkDirectory = temp.Path };
        var probe = Ort.RandomValues(16 * 3 * 64, seed: 5, 0, 1);
        var reference = Ort.Run(model, ("x", probe, [16, 3, 8, 8]))["y"];

        var greedy = StructuredPruner.Prune(model, options, calibration);
        var ranked = StructuredPruner.Prune(model, options with { GreedySelection = false }, calibration);

        Assert.Equal(3, greedy.Model.Graph.FindInitializer("conv0.weight")!.Dims[0]);
        Assert.Equal(3, ranked.Model.Graph.FindInitializer("conv0.weight")!.Dims[0]);
        double greedyError = Ort.RelativeMaxError(reference, Ort.Run(greedy.Model, ("x", probe, [16, 3, 8, 8]))["y"]);
        double rankedError = Ort.RelativeMaxError(reference, Ort.Run(ranked.Model, ("x", probe, [16, 3, 8, 8]))["y"]);
        // The twin channel takes over the removed one's weights: nothing is lost but the ridge damping.
        Assert.True(greedyError < 0.01, $"greedy selection: relative error {greedyError:F4}");
        Assert.True(rankedError > 10 * greedyError, $"ranked {rankedError:F4} vs greedy {greedyError:F4}");
    }

    [Fact]
    public void Depthwise_convolutions_below_pruned_channels_are_refitted_and_bring_the_outputs_closer()
    {
        var model = PruneModels.Depthwise();
        using var temp = new TempDirectory();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 128, 3, 8, 8);
        // 6 of 8 channels go: more than the 4 dead ones, so the block really loses something.
        var options = new StructuredPruneOptions { Ratio = 0.75, RefitDepthwise = true, WorkDirectory = temp.Path };
        var probe = Ort.RandomValues(32 * 3 * 64, seed: 8, 0, 1);
        var reference = Ort.Run(model, ("x", probe, [32, 3, 8, 8]))["y"];
        var before = model.Graph.GetInitializerData("dw.weight").ToFloatArray();

        var refitted = StructuredPruner.Prune(model, options, calibration);
        var kept = StructuredPruner.Prune(model, options with { RefitDepthwise = false }, calibration);

        var after = refitted.Model.Graph.GetInitializerData("dw.weight").ToFloatArray();
        Assert.Equal(2 * 9, after.Length);
        Assert.DoesNotContain(after, v => before.Contains(v));
        Assert.Equal(2 * 9, kept.Model.Graph.GetInitializerData("dw.weight").ToFloatArray().Count(before.Contains));
        double refittedError = Ort.RelativeMaxError(reference, Ort.Run(refitted.Model, ("x", probe, [32, 3, 8, 8]))["y"]);
        double keptError = Ort.RelativeMaxError(reference, Ort.Run(kept.Model, ("x", probe, [32, 3, 8, 8]))["y"]);
        Assert.True(refittedError < keptError, $"depthwise refitted {refittedError:F4} vs left {keptError:F4}");
    }

    /// <summary>
    /// x [b,3,8,8] → conv0 (4 channels; 0 and 1 identical, 3 weak but independent) → Relu → conv1 → GlobalAveragePool → Flatten → y [b,2].
    /// Ranked alone, the weak channel 3 goes; removing one of the twins loses nothing once conv1 is refitted.
    /// </summary>
    private static OnnxModel DuplicatedChannels()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 3, 8, 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 2));
        var weight = Ort.RandomValues(4 * 27, 21, -0.5f, 0.5f);
        Array.Copy(weight, 0, weight, 27, 27);
        for (int i = 3 * 27; i < 4 * 27; i++)
        {
            weight[i] *= 0.3f;
        }
        var bias = new float[] { 0.1f, 0.1f, 0.05f, 0.05f };
        graph.AddInitializer(TensorData.Create(weight, 4, 3, 3, 3).ToProto("conv0.weight"));
        graph.AddInitializer(TensorData.Vector(bias).ToProto("conv0.bias"));
        graph.AddNode("Conv", ["x", "conv0.weight", "conv0.bias"], ["conv0"], "conv0").SetInts("pads", [1, 1, 1, 1]);
        graph.AddNode("Relu", ["conv0"], ["relu0"], "relu0");
        var next = Ort.RandomValues(2 * 4 * 9, 22, 0.2f, 0.6f);
        for (int i = 3 * 9; i < 4 * 9; i++)
        {
            next[i] *= 0.3f;
            next[36 + i] *= 0.3f;
        }
        graph.AddInitializer(TensorData.Create(next, 2, 4, 3, 3).ToProto("conv1.weight"));
        graph.AddInitializer(TensorData.Vector(new float[] { 0f, 0f }).ToProto("conv1.bias"));
        graph.AddNode("Conv", ["relu0", "conv1.weight", "conv1.bias"], ["conv1"], "conv1").SetInts("pads", [1, 1, 1, 1]);
        graph.AddNode("GlobalAveragePool", ["conv1"], ["gap"], "gap");
        graph.AddNode("Flatten", ["gap"], ["y"], "flatten");
        return model;
    }
}
