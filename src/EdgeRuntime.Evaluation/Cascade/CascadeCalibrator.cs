using System.Diagnostics;
using EdgeRuntime.Cascade;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Evaluation.Cascade;

/// <summary>How a cascade did on held-out samples at the calibrated threshold.</summary>
public sealed record CascadeReport(
    string Cheap,
    string Strong,
    ConfidenceMeasure Measure,
    double Threshold,
    double TargetAgreement,
    int CalibrationSamples,
    int TestSamples,
    double EscalatedFraction,
    double AgreementWithStrong,
    double? Top1,
    double? CheapTop1,
    double? StrongTop1,
    double CheapMs,
    double StrongMs,
    double CascadeMs)
{
    /// <summary>Mean cost of a cascaded sample relative to running the strong variant alone.</summary>
    public double CostRatio => StrongMs > 0 ? CascadeMs / StrongMs : double.NaN;
}

/// <summary>
/// Finds the confidence threshold at which a cheap-then-strong cascade agrees with the strong variant on at
/// least a target share of samples while escalating as few as possible: calibrated on the first half of the
/// data, reported on the second half.
/// </summary>
public static class CascadeCalibrator
{
    public static CascadeReport Calibrate(ModelRuntime runtime, string cheap, string strong, LabelledDataset data, bool labelled,
        double targetAgreement = 0.99, ConfidenceMeasure measure = ConfidenceMeasure.TopProbability, int batchSize = 64, int? limit = null)
    {
        if (targetAgreement is <= 0 or > 1)
        {
            throw new ArgumentException($"the target agreement must be in (0, 1], got {targetAgreement}");
        }
        int total = Math.Min(limit ?? data.Count, data.Count);
        if (total < 2)
        {
            throw new ArgumentException("the cascade needs at least two samples: half to calibrate, half to test");
        }
        var samples = Collect(runtime, cheap, strong, data, labelled, measure, batchSize, total, out double cheapMs, out double strongMs);
        var calibration = samples[..(total / 2)];
        var test = samples[(total / 2)..];

        // Escalating everything below a confidence c fixes every cheap disagreement below c; find the smallest c that suffices.
        var ordered = calibration.OrderBy(s => s.Confidence).ToArray();
        int allowed = (int)Math.Floor((1 - targetAgreement) * ordered.Length);
        int disagreeing = ordered.Count(s => !s.CheapAgrees);
        double threshold = 0;
        int remaining = disagreeing;
        for (int i = 0; i < ordered.Length && remaining > allowed; i++)
        {
            if (!ordered[i].CheapAgrees)
            {
                remaining--;
            }
            threshold = i + 1 < ordered.Length ? (ordered[i].Confidence + ordered[i + 1].Confidence) / 2 : 1.0000001;
        }

        int escalated = test.Count(s => s.Confidence < threshold);
        int agreeing = test.Count(s => s.Confidence < threshold || s.CheapAgrees);
        double? Top1(Func<Sample, bool> correct) => labelled ? (double)test.Count(correct) / test.Length : null;
        double fraction = (double)escalated / test.Length;
        return new CascadeReport(cheap, strong, measure, threshold, targetAgreement, calibration.Length, test.Length,
            fraction, (double)agreeing / test.Length,
            Top1(s => s.Confidence < threshold ? s.StrongCorrect : s.CheapCorrect),
            Top1(s => s.CheapCorrect), Top1(s => s.StrongCorrect),
            cheapMs, strongMs, cheapMs + fraction * strongMs);
    }

    private readonly record struct Sample(double Confidence, bool CheapAgrees, bool CheapCorrect, bool StrongCorrect);

    private static Sample[] Collect(ModelRuntime runtime, string cheap, string strong, LabelledDataset data, bool labelled, ConfidenceMeasure measure,
        int batchSize, int total, out double cheapMsPerSample, out double strongMsPerSample)
    {
        var feeder = BatchFeeder.Create(runtime.Inputs, data.SampleShape, batchSize);
        var buffer = new float[feeder.BatchSize * data.SampleLength];
        var samples = new Sample[total];
        double cheapMs = 0, strongMs = 0;
        for (int start = 0; start < total; start += feeder.BatchSize)
        {
            int count = Math.Min(feeder.BatchSize, total - start);
            data.GetBatch(start, count, buffer.AsSpan(0, count * data.SampleLength));
            var input = feeder.MakeBatch(buffer, count);
            var watch = Stopwatch.StartNew();
            var cheapOut = runtime.Run([input], cheap).Outputs[0].AsSpan<float>().ToArray();
            cheapMs += watch.Elapsed.TotalMilliseconds;
            watch.Restart();
            var strongOut = runtime.Run([input], strong).Outputs[0].AsSpan<float>().ToArray();
            strongMs += watch.Elapsed.TotalMilliseconds;
            int rows = feeder.PadsLastBatch ? feeder.BatchSize : count;
            int width = cheapOut.Length / rows;
            for (int i = 0; i < count; i++)
            {
                var a = cheapOut.AsSpan(i * width, width);
                var b = strongOut.AsSpan(i * width, width);
                int cheapClass = a.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(a));
                int strongClass = b.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(b));
                long label = labelled ? data.GetLabel(start + i) : -1;
                samples[start + i] = new Sample(Confidence.Of(a, measure), cheapClass == strongClass, cheapClass == label, strongClass == label);
            }
        }
        cheapMsPerSample = cheapMs / total;
        strongMsPerSample = strongMs / total;
        return samples;
    }
}
