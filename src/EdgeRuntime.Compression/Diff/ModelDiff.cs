using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Diff;

/// <summary>
/// Runs a reference and a candidate model (say fp32 and its int8 variant) on the same inputs, batch by
/// batch, and measures per output how far the candidate strays: mean / spread / largest absolute error,
/// cosine similarity and, for classifier outputs, top-1 agreement. Only one batch of outputs is held at a time.
/// </summary>
public static class ModelDiff
{
    /// <param name="data">Input name to .npy file (samples along the first axis); a single file may use the key "" for a single-input model.</param>
    public static DiffReport Compare(string referencePath, string candidatePath, IReadOnlyDictionary<string, string> data, DiffOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(referencePath);
        ArgumentException.ThrowIfNullOrEmpty(candidatePath);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new DiffOptions();
        options.Validate();
        using var feed = NpyInputFeed.Open(data, options.Limit);
        using var reference = ModelSession.Open(referencePath);
        using var candidate = ModelSession.Open(candidatePath);
        return Compare(reference, candidate, feed, options);
    }

    /// <summary>The same comparison for models held in memory (e.g. straight out of a quantizer).</summary>
    public static DiffReport Compare(OnnxModel reference, OnnxModel candidate, IReadOnlyDictionary<string, string> data, DiffOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new DiffOptions();
        options.Validate();
        using var feed = NpyInputFeed.Open(data, options.Limit);
        using var referenceSession = ModelSession.Open(reference.ToBytes(), NameOf(reference, "reference"));
        using var candidateSession = ModelSession.Open(candidate.ToBytes(), NameOf(candidate, "candidate"));
        return Compare(referenceSession, candidateSession, feed, options);
    }

    private static DiffReport Compare(ModelSession reference, ModelSession candidate, NpyInputFeed feed, DiffOptions options)
    {
        CheckSameInterface(reference, candidate);
        var referencePlan = feed.Plan(reference.Inputs, options.BatchSize, reference.Name, options.BatchAxes);
        var candidatePlan = feed.Plan(candidate.Inputs, referencePlan.BatchSize, candidate.Name, options.BatchAxes);
        if (candidatePlan.BatchSize != referencePlan.BatchSize)
        {
            throw new NotSupportedException(
                $"{reference.Name} runs batches of {referencePlan.BatchSize} and {candidate.Name} of {candidatePlan.BatchSize}; compare models with the same batch dimension");
        }
        int batch = referencePlan.BatchSize;
        var outputNames = reference.Outputs.Select(o => o.Name).ToList();
        var accumulators = reference.Outputs.ToDictionary(o => o.Name, o => new OutputAccumulator(o.Name, o.ElementType.ToName()));
        for (int start = 0; start < feed.SampleCount; start += batch)
        {
            int count = Math.Min(batch, feed.SampleCount - start);
            var referenceOutputs = reference.Run(feed.ReadBatch(referencePlan, start, count), outputNames);
            var candidateOutputs = candidate.Run(feed.ReadBatch(candidatePlan, start, count), outputNames);
            for (int i = 0; i < outputNames.Count; i++)
            {
                accumulators[outputNames[i]].Add(referenceOutputs[i], candidateOutputs[i], count, referencePlan.HasBatchAxis);
            }
        }
        return new DiffReport(
            reference.Name,
            candidate.Name,
            feed.Description,
            feed.SampleCount,
            batch,
            [.. outputNames.Select(name => accumulators[name].ToResult())]);
    }

    private static void CheckSameInterface(ModelSession reference, ModelSession candidate)
    {
        var missingInputs = reference.Inputs.Where(r => candidate.Inputs.All(c => c.Name != r.Name)).Select(r => r.Name).ToList();
        var extraInputs = candidate.Inputs.Where(c => reference.Inputs.All(r => r.Name != c.Name)).Select(c => c.Name).ToList();
        if (missingInputs.Count > 0 || extraInputs.Count > 0)
        {
            throw new InvalidDataException(
                $"the models take different inputs: {reference.Name} takes {string.Join(", ", reference.Inputs.Select(i => i.Name))}, "
                + $"{candidate.Name} takes {string.Join(", ", candidate.Inputs.Select(i => i.Name))}");
        }
        foreach (var output in reference.Outputs)
        {
            if (candidate.Outputs.All(c => c.Name != output.Name))
            {
                throw new InvalidDataException(
                    $"{candidate.Name} has no output '{output.Name}' (its outputs: {string.Join(", ", candidate.Outputs.Select(o => o.Name))})");
            }
        }
    }

    private static string NameOf(OnnxModel model, string fallback) =>
        model.SourcePath is { } path ? Path.GetFileName(path) : fallback;

    /// <summary>Running sums for one output, so memory stays one batch whatever the sample count.</summary>
    private sealed class OutputAccumulator(string name, string elementType)
    {
        private long[]? _shape;
        private int _samples;
        private long _elements;
        private double _absSum;
        private double _absSquareSum;
        private double _maxAbs;
        private double _signedSum;
        private double _cosineSum;
        private double _minCosine = 1;
        private int _agreeing;
        private bool _hasClassAxis;

        public void Add(NamedTensor reference, NamedTensor candidate, int count, bool hasBatchAxis)
        {
            if (!reference.Shape.SequenceEqual(candidate.Shape))
            {
                throw new InvalidDataException(
                    $"output '{name}' has shape [{string.Join(",", reference.Shape)}] in the reference but [{string.Join(",", candidate.Shape)}] in the candidate on the same inputs");
            }
            _shape ??= reference.Shape;
            double[] expected = reference.ToDoubles();
            double[] actual = candidate.ToDoubles();
            // Outputs that keep the batch axis are split per sample (padding rows of a fixed batch skipped).
            bool perSample = hasBatchAxis && reference.Shape.Length > 0 && reference.Shape[0] >= count && count > 0;
            int rows = perSample ? count : 1;
            int length = perSample ? (int)(expected.Length / reference.Shape[0]) : expected.Length;
            _hasClassAxis = perSample && reference.Shape.Length == 2 && reference.Shape[1] >= 2;
            for (int row = 0; row < rows; row++)
            {
                AddSample(expected.AsSpan(row * length, length), actual.AsSpan(row * length, length));
            }
        }

        public OutputDiff ToResult()
        {
            double mean = _elements == 0 ? 0 : _absSum / _elements;
            double variance = _elements == 0 ? 0 : Math.Max(0, _absSquareSum / _elements - mean * mean);
            return new OutputDiff(
                name,
                elementType,
                _shape ?? [],
                _samples,
                mean,
                Math.Sqrt(variance),
                _maxAbs,
                _elements == 0 ? 0 : _signedSum / _elements,
                _samples == 0 ? 1 : _cosineSum / _samples,
                _samples == 0 ? 1 : _minCosine,
                _hasClassAxis && _samples > 0 ? (double)_agreeing / _samples : null);
        }

        private void AddSample(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
        {
            double dot = 0, expectedNorm = 0, actualNorm = 0;
            int expectedBest = 0, actualBest = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                double e = expected[i], a = actual[i];
                double error = a - e;
                double abs = Math.Abs(error);
                _absSum += abs;
                _absSquareSum += abs * abs;
                _signedSum += error;
                if (abs > _maxAbs || double.IsNaN(abs))
                {
                    _maxAbs = abs;
                }
                dot += e * a;
                expectedNorm += e * e;
                actualNorm += a * a;
                if (e > expected[expectedBest])
                {
                    expectedBest = i;
                }
                if (a > actual[actualBest])
                {
                    actualBest = i;
                }
            }
            _elements += expected.Length;
            double cosine = expectedNorm == 0 || actualNorm == 0
                ? (expectedNorm == actualNorm ? 1 : 0)
                : dot / Math.Sqrt(expectedNorm * actualNorm);
            _cosineSum += cosine;
            _minCosine = Math.Min(_minCosine, cosine);
            if (expectedBest == actualBest)
            {
                _agreeing++;
            }
            _samples++;
        }
    }
}
