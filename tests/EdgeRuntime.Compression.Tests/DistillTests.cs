using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

public sealed class DistillTests
{
    [Fact]
    public void Reconstruction_brings_a_channel_pruned_convnet_closer_to_the_teacher()
    {
        using var temp = new TempDirectory();
        var model = TestModels.ConvNet();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 256, 3, 16, 16);
        var plain = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.5, Criterion = ImportanceCriterion.L2, Reconstruct = false, ReestimateBatchNorm = false });
        var refitted = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.5 }, calibration);
        Assert.Contains(refitted.Applied, a => a.Contains("reconstruction"));
        Assert.Contains(refitted.Applied, a => a.Contains("BatchNormalization"));
        Assert.Empty(refitted.Model.Graph.Validate());
        var probe = Ort.RandomValues(32 * 3 * 256, seed: 8, 0, 1);
        var reference = Ort.Run(model, ("x", probe, [32, 3, 16, 16]))["y"];
        double plainError = Ort.RelativeMaxError(reference, Ort.Run(plain.Model, ("x", probe, [32, 3, 16, 16]))["y"]);
        double refittedError = Ort.RelativeMaxError(reference, Ort.Run(refitted.Model, ("x", probe, [32, 3, 16, 16]))["y"]);
        Assert.True(refittedError < plainError, $"refitted {refittedError:F4} vs plain {plainError:F4}");
    }

    [Fact]
    public void Refitting_every_layer_below_in_order_brings_a_pruned_residual_network_closer_to_the_teacher()
    {
        using var temp = new TempDirectory();
        var model = PruneModels.Residual();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 256, 3, 8, 8);
        var options = new StructuredPruneOptions { Ratio = 0.75 };
        var consumersOnly = StructuredPruner.Prune(model, options with { RefitDownstream = false }, calibration);
        var sequential = StructuredPruner.Prune(model, options, calibration);

        Assert.Contains(sequential.Applied, a => a.Contains("final sequential refit"));
        Assert.DoesNotContain(consumersOnly.Applied, a => a.Contains("final sequential refit"));
        Assert.Empty(sequential.Model.Graph.Validate());
        Assert.Equal(2, sequential.Model.Graph.FindInitializer("conv0.weight")!.Dims[0]);
        var probe = Ort.RandomValues(64 * 3 * 64, seed: 21, 0, 1);
        var reference = Ort.Run(model, ("x", probe, [64, 3, 8, 8]))["y"];
        double consumersOnlyError = Ort.RelativeMaxError(reference, Ort.Run(consumersOnly.Model, ("x", probe, [64, 3, 8, 8]))["y"]);
        double sequentialError = Ort.RelativeMaxError(reference, Ort.Run(sequential.Model, ("x", probe, [64, 3, 8, 8]))["y"]);
        Assert.True(sequentialError < consumersOnlyError, $"sequential refit {sequentialError:F4} vs consumers only {consumersOnlyError:F4}");
    }

    [Fact]
    public void Batch_norm_reestimation_changes_nothing_when_student_equals_teacher()
    {
        using var temp = new TempDirectory();
        var model = TestModels.ConvNet();
        var student = model.Clone();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 64, 3, 16, 16);
        var bn = student.Graph.Nodes.First(n => n.OpType == "BatchNormalization");
        int updated = BatchNormReestimator.Reestimate(student, model, [new NormalizationMapping(bn, [.. Enumerable.Range(0, 8)])], calibration);
        Assert.Equal(1, updated);
        var before = model.Graph.GetInitializerData(bn.Input[3]).ToFloatArray();
        var after = student.Graph.GetInitializerData(bn.Input[3]).ToFloatArray();
        Assert.True(Ort.MaxAbsDifference(before, after) < 1e-4);
    }

    [Fact]
    public void Head_distillation_recovers_a_damaged_classifier()
    {
        using var temp = new TempDirectory();
        var teacher = TestModels.Mlp([16, 32, 6], seed: 5, useGemm: true);
        var student = teacher.Clone();
        var head = student.Graph.GetInitializerData("w1").ToFloatArray();
        for (int i = 0; i < head.Length; i += 3)
        {
            head[i] = 0.5f;
        }
        student.Graph.SetInitializer("w1", TensorData.Create(head, 6, 32));
        var calibration = PruneUnstructuredTests.RandomCalibration(teacher, temp, 512, 16);
        var probe = Ort.RandomValues(64 * 16, seed: 3);
        var reference = Ort.Run(teacher, ("x", probe, [64, 16]))["y"];
        double before = Ort.MeanCosine(reference, Ort.Run(student, ("x", probe, [64, 16]))["y"], 6);
        string applied = HeadDistiller.Distill(student, teacher, calibration, temperature: 4);
        double after = Ort.MeanCosine(reference, Ort.Run(student, ("x", probe, [64, 16]))["y"], 6);
        Assert.Contains("head distillation", applied);
        Assert.True(after > 0.99 && after > before, $"cosine before {before:F4}, after {after:F4}");
    }
}
