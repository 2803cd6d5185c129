using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Accuracy;

public sealed record EvalOptions
{
    /// <summary>Samples per inference where the model's batch dimension is open.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Evaluate only the first N samples.</summary>
    public int? Limit { get; init; }

    /// <summary>Variants to evaluate; null for all. The reference is always run, for agreement.</summary>
    public IReadOnlyList<string>? Variants { get; init; }
}

/// <summary>
/// Runs a data set through every variant of a bundle, batch by batch, and measures top-1 against labels
/// and fidelity to the reference variant on the same inputs (TFLite's inference_diff idea), without
/// holding more than one batch of outputs.
/// </summary>
public static class Evaluator
{
    public static EvalReport Evaluate(ModelRuntime runtime, LabelledDataset data, bool labelled, EvalOptions? options = null, string? datasetName = null)
    {
        options ??= new EvalOptions();
        string reference = runtime.Bundle.Manifest.ReferenceVariant;
        var wanted = options.Variants ?? runtime.Bundle.Variants.Select(v => v.Id).ToList();
        foreach (string id in wanted)
        {
            _ = runtime.Bundle[id]; // unknown ids fail before any work
        }
        var ids = wanted.Contains(reference) ? wanted.OrderBy(id => id == reference ? 0 : 1).ToList() : [reference, .. wanted];
        var feeder = BatchFeeder.Create(runtime.Inputs, data.SampleShape, options.BatchSize);
        string outputName = runtime.Outputs.Count > 0 ? runtime.Outputs[0].Name : "";
        int total = Math.Min(options.Limit ?? data.Count, data.Count);

        var accumulators = ids.ToDictionary(id => id, id => new Accumulator(id));
        var samples = new float[feeder.BatchSize * data.SampleLength];
        for (int start = 0; start < total; start += feeder.BatchSize)
        {
            int count = Math.Min(feeder.BatchSize, total - start);
            data.GetBatch(start, count, samples.AsSpan(0, count * data.SampleLength));
            var input = feeder.MakeBatch(samples, count);
            float[]? referenceOutput = null;
            foreach (string id in ids)
            {
                var accumulator = accumulators[id];
                if (accumulator.Error is not null)
                {
                    continue;
                }
                float[] output;
                try
                {
                    var watch = Stopwatch.StartNew();
                    var result = runtime.Run([input], id);
                    accumulator.Elapsed += watch.Elapsed;
                    output = ToFloat(result.Outputs[0]);
                }
                catch (Exception e) when (e is VariantUnavailableException or InvalidInputException or NotSupportedException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
                {
                    accumulator.Error = e.Message;
                    continue;
                }
                int perSample = output.Length / Math.Max(1, feeder.PadsLastBatch ? feeder.BatchSize : count);
                if (id == reference)
                {
                    referenceOutput = output;
                }
                for (int i = 0; i < count; i++)
                {
                    var row = output.AsSpan(i * perSample, perSample);
                    var referenceRow = referenceOutput is null || id == reference ? default : referenceOutput.AsSpan(i * perSample, perSample);
                    accumulator.Add(row, labelled ? data.GetLabel(start + i) : null, referenceRow, compareToReference: id != reference && referenceOutput is not null);
                }
            }
        }

        var results = ids
            .Where(id => wanted.Contains(id))
            .Select(id => accumulators[id].ToResult(isReference: id == reference))
            .ToList();
        return new EvalReport(runtime.Bundle.Name, datasetName ?? data.Name, total, labelled, feeder.BatchSize, reference, outputName, results);
    }

    private static float[] ToFloat(NamedTensor tensor) => tensor.ElementType switch
    {
        ElementType.Float32 => tensor.AsSpan<float>().ToArray(),
        ElementType.Float16 => [.. tensor.AsSpan<Half>().ToArray().Select(h => (float)h)],
        ElementType.Float64 => [.. tensor.AsSpan<double>().ToArray().Select(d => (float)d)],
        ElementType.Int64 => [.. tensor.AsSpan<long>().ToArray().Select(v => (float)v)],
        ElementType.Int32 => [.. tensor.AsSpan<int>().ToArray().Select(v => (float)v)],
        ElementType.UInt8 => [.. tensor.AsSpan<byte>().ToArray().Select(v => (float)v)],
        ElementType.Int8 => [.. tensor.AsSpan<sbyte>().ToArray().Select(v => (float)v)],
        _ => throw new NotSupportedException($"output '{tensor.Name}' is {tensor.ElementType.ToName()}, which evaluation cannot compare"),
    };

    private sealed class Accumulator(string id)
    {
        private int _samples;
        private int _correct;
        private int _labelled;
        private int _agreeing;
        private int _compared;
        private double _cosineSum;
        private double _absErrorSum;
        private long _values;
        private double _maxAbsError;

        public string? Error { get; set; }
        public TimeSpan Elapsed { get; set; }

        public void Add(ReadOnlySpan<float> row, long? label, ReadOnlySpan<float> reference, bool compareToReference)
        {
            _samples++;
            int predicted = ArgMax(row);
            if (label is long l)
            {
                _labelled++;
                if (predicted == l)
                {
                    _correct++;
                }
            }
            if (!compareToReference)
            {
                return;
            }
            _compared++;
            if (predicted == ArgMax(reference))
            {
                _agreeing++;
            }
            double dot = 0, normA = 0, normB = 0;
            for (int i = 0; i < row.Length; i++)
            {
                double a = row[i], b = reference[i];
                dot += a * b;
                normA += a * a;
                normB += b * b;
                double error = Math.Abs(a - b);
                _absErrorSum += error;
                _maxAbsError = Math.Max(_maxAbsError, error);
            }
            _values += row.Length;
            _cosineSum += normA == 0 || normB == 0 ? (normA == normB ? 1 : 0) : dot / Math.Sqrt(normA * normB);
        }

        public VariantEvaluation ToResult(bool isReference)
        {
            if (Error is not null)
            {
                return new VariantEvaluation(id, 0, null, null, null, null, null, 0, Error);
            }
            static double? Ratio(int part, int whole) => whole == 0 ? null : (double)part / whole;
            return new VariantEvaluation(
                id,
                _samples,
                Top1: Ratio(_correct, _labelled),
                Agreement: isReference ? 1.0 : Ratio(_agreeing, _compared),
                MeanCosine: isReference ? 1.0 : _compared == 0 ? null : _cosineSum / _compared,
                MeanAbsError: isReference ? 0.0 : _values == 0 ? null : _absErrorSum / _values,
                MaxAbsError: isReference ? 0.0 : _compared == 0 ? null : _maxAbsError,
                SamplesPerSecond: Elapsed > TimeSpan.Zero ? _samples / Elapsed.TotalSeconds : 0,
                Error: null);
        }

        private static int ArgMax(ReadOnlySpan<float> values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++)
            {
                if (values[i] > values[best])
                {
                    best = i;
                }
            }
            return best;
        }
    }
}
