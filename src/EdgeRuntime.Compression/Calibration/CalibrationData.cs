using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Calibration;

/// <summary>
/// Input batches for calibration and sensitivity analysis, re-readable (calibrators make two passes)
/// and streamed: only one batch is in memory at a time, whatever the number of samples.
/// A batch's memory is reused for the next one, so use each batch before asking for the next.
/// </summary>
public sealed class CalibrationData
{
    private readonly Func<IEnumerable<NamedTensor[]>> _batches;

    private CalibrationData(Func<IEnumerable<NamedTensor[]>> batches, int samples, string description)
    {
        _batches = batches;
        SampleCount = samples;
        Description = description;
    }

    public int SampleCount { get; }
    public string Description { get; }

    public IEnumerable<NamedTensor[]> Batches() => _batches();

    /// <summary>Samples of a data set fed to a single-input model in batches it accepts.</summary>
    public static CalibrationData FromDataset(LabelledDataset data, IReadOnlyList<TensorSignature> inputs, int batchSize = 32, int? limit = null)
    {
        var feeder = BatchFeeder.Create(inputs, data.SampleShape, batchSize);
        int total = Math.Min(limit ?? data.Count, data.Count);
        IEnumerable<NamedTensor[]> Enumerate()
        {
            var buffer = new float[feeder.BatchSize * data.SampleLength];
            var tensorMemory = new byte[feeder.BatchByteLength];
            for (int start = 0; start < total; start += feeder.BatchSize)
            {
                int count = Math.Min(feeder.BatchSize, total - start);
                data.GetBatch(start, count, buffer.AsSpan(0, count * data.SampleLength));
                yield return [feeder.MakeBatch(buffer, count, tensorMemory)];
            }
        }
        return new CalibrationData(Enumerate, total, $"{data.Name} ({total} samples)");
    }

    /// <summary>
    /// One .npy file per model input (samples along the file's first axis, read batch by batch from disk).
    /// A single-input model may pass its file under any name. An input whose rank equals a sample's takes one
    /// sample per run (no batch axis, e.g. a scalar sample-rate input); the samples of an input whose batch is
    /// not on axis 0 (a [layers, batch, hidden] state) go to the axis in <paramref name="batchAxes"/>, or the one
    /// inferred from the model's symbolic dimensions.
    /// </summary>
    public static CalibrationData FromNpy(IReadOnlyDictionary<string, string> files, IReadOnlyList<TensorSignature> inputs, int batchSize = 32, int? limit = null,
        IReadOnlyDictionary<string, int>? batchAxes = null)
    {
        if (files.Count == 1 && inputs.Count == 1 && !files.ContainsKey(inputs[0].Name))
        {
            files = new Dictionary<string, string> { [inputs[0].Name] = files.Values.Single() };
        }
        foreach (var input in inputs)
        {
            if (!files.ContainsKey(input.Name))
            {
                throw new ArgumentException($"no calibration file for model input '{input.Name}'; give one per input as NAME=FILE.npy ({string.Join(", ", inputs.Select(i => i.Name))})");
            }
        }
        foreach (string name in files.Keys.Where(n => inputs.All(i => i.Name != n)))
        {
            throw new ArgumentException($"calibration file given for '{name}', which is not a model input ({string.Join(", ", inputs.Select(i => i.Name))})");
        }
        int total;
        string description;
        using (var probe = NpyInputFeed.Open(files, limit))
        {
            // Checks every file against its input now, before any pass starts.
            probe.Plan(inputs, batchSize, "the model", batchAxes);
            total = probe.SampleCount;
            description = probe.Description;
        }
        IEnumerable<NamedTensor[]> Enumerate()
        {
            using var feed = NpyInputFeed.Open(files, limit);
            var plan = feed.Plan(inputs, batchSize, "the model", batchAxes);
            for (int start = 0; start < total; start += plan.BatchSize)
            {
                yield return feed.ReadBatch(plan, start, Math.Min(plan.BatchSize, total - start));
            }
        }
        return new CalibrationData(Enumerate, total, description);
    }

}
