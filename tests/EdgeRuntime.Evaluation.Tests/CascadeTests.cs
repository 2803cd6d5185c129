using EdgeRuntime.Cascade;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Cascade;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Tests;

public sealed class CascadeTests
{
    private const int Inputs = 16, Classes = 5;

    /// <summary>A strong linear classifier and a cheap one with noisy weights that disagrees on hard samples.</summary>
    private static (string Bundle, LabelledDataset Data) Setup(TempDirectory temp)
    {
        var random = new Random(4);
        var strong = new float[Inputs * Classes];
        for (int i = 0; i < strong.Length; i++)
        {
            strong[i] = random.NextSingle() * 2 - 1;
        }
        var cheap = strong.Select(w => w + (random.NextSingle() - 0.5f) * 0.6f).ToArray();
        string bundle = temp.File("bundle");
        BundleBuilder.Create(bundle, "cascade",
        [
            new VariantSource("strong", Models.Linear(temp.File("strong.onnx"), strong, Inputs, Classes)),
            new VariantSource("cheap", Models.Linear(temp.File("cheap.onnx"), cheap, Inputs, Classes)),
        ]);
        int count = 2000;
        var samples = new float[count * Inputs];
        for (int i = 0; i < samples.Length; i++)
        {
            samples[i] = random.NextSingle() * 2 - 1;
        }
        return (bundle, new LabelledDataset(samples, [Inputs], new long[count], "random"));
    }

    [Fact]
    public void Calibration_meets_the_agreement_target_on_held_out_samples_escalating_only_some()
    {
        using var temp = new TempDirectory();
        var (bundle, data) = Setup(temp);
        using var runtime = ModelRuntime.Open(bundle);

        var report = CascadeCalibrator.Calibrate(runtime, "cheap", "strong", data, labelled: false, targetAgreement: 0.97);

        Assert.Equal(1000, report.TestSamples);
        Assert.InRange(report.EscalatedFraction, 0.01, 0.9);
        Assert.True(report.AgreementWithStrong >= 0.95, $"agreement {report.AgreementWithStrong:P2} at threshold {report.Threshold}");
        Assert.True(report.CascadeMs < report.CheapMs + report.StrongMs);
    }

    [Fact]
    public void The_cascade_replaces_exactly_the_unsure_rows_with_the_strong_answer()
    {
        using var temp = new TempDirectory();
        var (bundle, data) = Setup(temp);
        using var runtime = ModelRuntime.Open(bundle);
        var batch = NamedTensor.FromArray("x", data.GetBatch(0, 64), 64, Inputs);
        var cheapOut = runtime.Run([batch], "cheap").First.AsSpan<float>().ToArray();
        var strongOut = runtime.Run([batch], "strong").First.AsSpan<float>().ToArray();

        var cascade = new ConfidenceCascade(runtime, new CascadeOptions("cheap", "strong", Threshold: 0.5));
        var result = cascade.Run([batch]);

        var merged = result.Result.First.AsSpan<float>().ToArray();
        int escalated = 0;
        for (int row = 0; row < 64; row++)
        {
            bool unsure = result.Confidences[row] < 0.5;
            escalated += unsure ? 1 : 0;
            var expected = (unsure ? strongOut : cheapOut).AsSpan(row * Classes, Classes).ToArray();
            Assert.Equal(expected, merged.AsSpan(row * Classes, Classes).ToArray());
        }
        Assert.Equal(escalated, result.Escalated);
        Assert.Equal((double)escalated / 64, cascade.EscalatedFraction, 6);
    }

    [Theory]
    [InlineData(ConfidenceMeasure.TopProbability)]
    [InlineData(ConfidenceMeasure.Margin)]
    [InlineData(ConfidenceMeasure.Entropy)]
    public void Confidence_is_one_for_a_certain_row_and_lowest_for_a_uniform_one(ConfidenceMeasure measure)
    {
        float[] certain = [50, 0, 0, 0], uniform = [1, 1, 1, 1], leaning = [2, 1, 0, 0];
        Assert.Equal(1, Confidence.Of(certain, measure), 6);
        Assert.True(Confidence.Of(uniform, measure) < Confidence.Of(leaning, measure));
        Assert.True(Confidence.Of(leaning, measure) < Confidence.Of(certain, measure));
    }
}
