using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Zoo;
using EdgeRuntime.Data;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Structured pruning of a real residual network: the PP-OCR direction classifier (MobileNetV3 with
/// squeeze-excitation and hard-swish). Skipped without the model cache; never downloads.
/// </summary>
public sealed class PruneOcrClassifierTests
{
    [Fact]
    public void Thirty_percent_of_every_group_pruned_keeps_most_decisions_and_distillation_recovers_more()
    {
        string path = ModelZooPipelineTests.RequirePpOcrClassifier();
        using var temp = new TempDirectory();
        var model = OpsetUpgrader.Upgrade(OnnxModel.Load(path), 13).Model;
        // Calibration lines from another seed than the 500 lines the decisions are compared on.
        const int calibrationLines = CalibrationLineCount;
        var (calibrationPixels, _) = OcrClassifierInputs.Generate(calibrationLines, seed: 777);
        string calibrationPath = Ort.SaveNpy(temp.File("calibration.npy"), calibrationPixels, calibrationLines, OcrClassifierInputs.Channels, OcrClassifierInputs.Height, OcrClassifierInputs.Width);
        string modelPath = temp.File("upgraded.onnx");
        model.Save(modelPath);
        var (inputs, _) = OrtSignatures.ReadFromFile(modelPath);
        var calibration = CalibrationData.FromNpy(new Dictionary<string, string> { [OcrClassifierInputs.InputName] = calibrationPath }, inputs);

        var pruned = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.3, WorkDirectory = temp.Path }, calibration);

        Assert.Empty(pruned.Model.Graph.Validate());
        Assert.InRange(pruned.ChannelsKept, 0.70, 0.80);
        Assert.Contains(pruned.Applied, a => a.Contains("final sequential refit") && a.Contains("depthwise"));
        Assert.DoesNotContain(pruned.Applied, a => a.Contains("BatchNormalization"));
        var (pixels, labels) = OcrClassifierInputs.Generate(OcrClassifierInputs.DefaultCount);
        var teacher = Decisions(ModelZooPipelineTests.RunClassifier(model, pixels, labels.Length));
        var student = Decisions(ModelZooPipelineTests.RunClassifier(pruned.Model, pixels, labels.Length));
        double agreement = Agreement(teacher, student);
        Assert.True(agreement >= MinimumAgreement, $"the pruned classifier agrees with the original on {agreement:P1} of {labels.Length} lines");
        Assert.True(MacCounter.Count(pruned.Model).TotalMacs < 0.8 * MacCounter.Count(model).TotalMacs);

        // Then trained by gradient descent to the teacher's softmax on more unlabelled lines (another seed again).
        var (distillPixels, _) = OcrClassifierInputs.Generate(DistillationLineCount, seed: 778);
        string distillPath = Ort.SaveNpy(temp.File("distill.npy"), distillPixels, DistillationLineCount, OcrClassifierInputs.Channels, OcrClassifierInputs.Height, OcrClassifierInputs.Width);
        var distillData = CalibrationData.FromNpy(new Dictionary<string, string> { [OcrClassifierInputs.InputName] = distillPath }, inputs);
        var report = GradientDistiller.Distill(pruned.Model, model, distillData, new GradientDistillOptions { Epochs = 8, Temperature = 1 });

        var distilled = Decisions(ModelZooPipelineTests.RunClassifier(pruned.Model, pixels, labels.Length));
        double distilledAgreement = Agreement(teacher, distilled);
        Assert.True(distilledAgreement >= MinimumDistilledAgreement && distilledAgreement >= agreement + 0.01,
            $"after distillation the classifier agrees on {distilledAgreement:P1} of the lines (before: {agreement:P1}); {report.Describe()}");
    }

    private const int CalibrationLineCount = 256;
    private const int DistillationLineCount = 1024;
    // Measured 94.0% (8 epochs, temperature 1); 94.2% with 4096 lines; the 97% goal is not reached.
    private const double MinimumDistilledAgreement = 0.925;
    // Measured 91.2% (89.4% before the depthwise refit and the 1e-2 damping; 50.4% before consumers were refitted
    // in dependency order and every layer below refitted once more); the 97% goal is not reached.
    private const double MinimumAgreement = 0.89;

    private static double Agreement(int[] teacher, int[] student) => teacher.Zip(student).Count(p => p.First == p.Second) / (double)teacher.Length;

    private static int[] Decisions(float[] scores) => [.. Enumerable.Range(0, scores.Length / 2).Select(i => scores[2 * i + 1] > scores[2 * i] ? 1 : 0)];
}
