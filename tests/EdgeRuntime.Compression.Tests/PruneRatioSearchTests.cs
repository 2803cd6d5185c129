using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Compression.Tests;

public sealed class PruneRatioSearchTests
{
    [Fact]
    public void Search_meets_the_mac_budget_with_per_group_ratios_and_stays_accurate()
    {
        if (!File.Exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") && Environment.GetEnvironmentVariable("FASHION_MNIST_DIR") is null)
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "CI must install Debian package dataset-fashion-mnist");
            Assert.Skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
        }
        using var temp = new TempDirectory();
        string path = SampleModels.WriteFashionCnn(temp.Path);
        var model = OnnxModel.Load(path);
        var (inputs, _) = OrtSignatures.ReadFromFile(path);
        var calibration = CalibrationData.FromDataset(FashionMnist.Load(FashionMnistSplit.Train), inputs, limit: 2048);

        var search = PruneRatioSearch.Search(model, calibration, new RatioSearchOptions { MacTarget = 0.5, SensitivitySamples = 256 });

        Assert.True(search.PredictedMacs <= 0.5 * search.OriginalMacs, $"{search.PredictedMacs} of {search.OriginalMacs}");
        Assert.NotEmpty(search.GroupRatios);
        Assert.All(search.Sensitivities, s => Assert.True(s.Error >= 0 && s.MacsSaved > 0));
        var pruned = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0, GroupRatios = search.GroupRatios }, calibration);
        long macs = MacCounter.Count(pruned.Model).TotalMacs;
        Assert.True(macs <= 0.55 * search.OriginalMacs, $"{macs} of {search.OriginalMacs} MACs");
        Assert.Empty(pruned.Model.Graph.Validate());

        string prunedPath = temp.File("searched.onnx");
        pruned.Model.Save(prunedPath);
        using var runtime = ModelRuntime.Open(prunedPath);
        double top1 = Evaluator.Evaluate(runtime, FashionMnist.Load(FashionMnistSplit.Test).Slice(0, 2000), labelled: true).Variants[0].Top1!.Value;
        Assert.True(top1 > 0.85, $"top-1 {top1:P2} with ratios {string.Join(", ", search.GroupRatios.Select(p => $"{p.Key}={p.Value}"))}");
    }
}
