using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;
using EdgeRuntime.Testing;

namespace EdgeRuntime.Compression.Tests;

/// <summary>The depthwise refit of structured pruning's final pass.</summary>
public sealed class PruneDepthwiseRefitTests
{
    [Fact]
    public void Depthwise_convolutions_below_pruned_channels_are_refitted_and_bring_the_outputs_closer()
    {
        var model = PruneModels.Depthwise();
        using var temp = new TempDirectory();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 128, 3, 8, 8);
        // 6 of conv0's 8 channels go: more than the 4 dead ones, so the block really loses something.
        var options = new StructuredPruneOptions { Ratio = 0.75, Exclude = ["conv1"], RefitDepthwise = true, WorkDirectory = temp.Path };
        var probe = Ort.RandomValues(32 * 3 * 64, seed: 8, 0, 1);
        var reference = Ort.Run(model, ("x", probe, [32, 3, 8, 8]))["y"];
        var before = model.Graph.GetInitializerData("dw.weight").ToFloatArray();

        var refitted = StructuredPruner.Prune(model, options, calibration);
        var kept = StructuredPruner.Prune(model, options with { RefitDepthwise = false }, calibration);

        var after = refitted.Model.Graph.GetInitializerData("dw.weight").ToFloatArray();
        Assert.Equal(2 * 9, after.Length);
        Assert.DoesNotContain(after, v => before.Contains(v));
        Assert.Equal(2 * 9, kept.Model.Graph.GetInitializerData("dw.weight").ToFloatArray().Count(before.Contains));
        double refittedError = SquaredError(reference, Ort.Run(refitted.Model, ("x", probe, [32, 3, 8, 8]))["y"]);
        double keptError = SquaredError(reference, Ort.Run(kept.Model, ("x", probe, [32, 3, 8, 8]))["y"]);
        Assert.True(refittedError < keptError, $"depthwise refitted {refittedError:G4} vs left {keptError:G4}");
    }

    private static double SquaredError(float[] reference, float[] actual) => reference.Zip(actual).Sum(p => (double)(p.First - p.Second) * (p.First - p.Second));
}
