using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Compression.Tests;

public sealed class PruneUnstructuredTests
{
    [Fact]
    public void Per_layer_magnitude_pruning_zeroes_the_ratio_in_every_layer_and_keeps_shapes()
    {
        var model = TestModels.Mlp([16, 32, 32, 4]);
        var result = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.5, Scope = SparsityScope.PerLayer, Criterion = ImportanceCriterion.L2 });
        Assert.All(result.Layers, layer => Assert.Equal(0.5, layer.Sparsity, 2));
        Assert.Equal(model.Graph.FindInitializer("w1")!.Dims, result.Model.Graph.FindInitializer("w1")!.Dims);
        Assert.Empty(result.Model.Graph.Validate());
        Assert.Equal(0.5, Packing.ModelFacts.WeightSparsity(result.Model.Graph), 2);
        Assert.Equal(8, Ort.Run(result.Model, ("x", Ort.RandomValues(32, 1), [2, 16]))["y"].Length);
    }

    [Fact]
    public void Global_scope_meets_the_overall_ratio_with_different_layer_ratios()
    {
        var model = TestModels.Mlp([16, 64, 8]);
        var result = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.6 });
        Assert.Equal(0.6, result.Sparsity, 2);
        Assert.NotEqual(result.Layers[0].Sparsity, result.Layers[1].Sparsity, 3);
    }

    [Fact]
    public void Second_order_update_reconstructs_better_than_magnitude_at_the_same_sparsity()
    {
        using var temp = new TempDirectory();
        var model = TestModels.Mlp([24, 48, 48, 6], seed: 3);
        var calibration = RandomCalibration(model, temp, 512, 24);
        var probe = Ort.RandomValues(64 * 24, seed: 99);
        var reference = Ort.Run(model, ("x", probe, [64, 24]))["y"];
        var magnitude = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.7, Scope = SparsityScope.PerLayer });
        var secondOrder = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.7, Scope = SparsityScope.PerLayer, SecondOrderUpdate = true }, calibration);
        double magnitudeError = Ort.RelativeMaxError(reference, Ort.Run(magnitude.Model, ("x", probe, [64, 24]))["y"]);
        double secondOrderError = Ort.RelativeMaxError(reference, Ort.Run(secondOrder.Model, ("x", probe, [64, 24]))["y"]);
        Assert.Equal(0.7, secondOrder.Sparsity, 2);
        Assert.True(secondOrderError < magnitudeError, $"second-order {secondOrderError:F4} vs magnitude {magnitudeError:F4}");
    }

    [Fact]
    public void Second_order_without_calibration_is_refused_with_a_reason()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            UnstructuredPruner.Prune(TestModels.Mlp([4, 4]), new UnstructuredPruneOptions { SecondOrderUpdate = true }));
        Assert.Contains("calibration", error.Message);
        Assert.ThrowsAny<System.ComponentModel.DataAnnotations.ValidationException>(() =>
            UnstructuredPruner.Prune(TestModels.Mlp([4, 4]), new UnstructuredPruneOptions { Ratio = 1.5 }));
    }

    [Fact]
    public void Fixture_cnn_keeps_its_accuracy_at_50_and_80_percent()
    {
        if (!FashionMnistAvailable())
        {
            Assert.Skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        }
        using var temp = new TempDirectory();
        string path = SampleModels.WriteFashionCnn(temp.Path);
        var model = OnnxModel.Load(path);
        var test = FashionMnist.Load(FashionMnistSplit.Test);
        var (inputs, _) = OrtSignatures.ReadFromFile(path);
        var calibration = CalibrationData.FromDataset(FashionMnist.Load(FashionMnistSplit.Train), inputs, 64, limit: 512);
        double reference = Top1(model, test, temp);
        var half = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.5 });
        var most = UnstructuredPruner.Prune(model, new UnstructuredPruneOptions { Ratio = 0.8, SecondOrderUpdate = true }, calibration);
        Assert.True(reference - Top1(half.Model, test, temp) <= 0.001, "50% global magnitude pruning lost more than 0.1 point");
        Assert.True(reference - Top1(most.Model, test, temp) <= 0.01, "80% second-order pruning lost more than 1 point");
    }

    internal static bool FashionMnistAvailable()
    {
        try
        {
            FashionMnist.LocateFiles(FashionMnistSplit.Test);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
        {
            return false;
        }
    }

    internal static double Top1(OnnxModel model, LabelledDataset data, TempDirectory temp)
    {
        string path = temp.File($"{Guid.NewGuid():N}.onnx");
        model.Save(path);
        using var runtime = ModelRuntime.Open(path);
        return Evaluator.Evaluate(runtime, data, labelled: true, new EvalOptions { BatchSize = 500 }).Variants[0].Top1!.Value;
    }

    internal static CalibrationData RandomCalibration(OnnxModel model, TempDirectory temp, int samples, params long[] sampleShape)
    {
        string path = temp.File($"{Guid.NewGuid():N}.onnx");
        model.Save(path);
        var (inputs, _) = OrtSignatures.ReadFromFile(path);
        int length = (int)sampleShape.Aggregate(1L, (a, b) => a * b);
        var data = new LabelledDataset(Ort.RandomValues(samples * length, seed: 42), sampleShape, new long[samples], "random");
        return CalibrationData.FromDataset(data, inputs, 64);
    }
}
