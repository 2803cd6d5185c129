using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Feeding;
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
    /// One .npy file per model input (samples along the first axis, read row by row from disk).
    /// A single-input model may pass its file under any name.
    /// </summary>
    public static CalibrationData FromNpy(IReadOnlyDictionary<string, string> files, IReadOnlyList<TensorSignature> inputs, int batchSize = 32, int? limit = null)
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
        long rows;
        using (var first = NpyReader.Open(files[inputs[0].Name]))
        {
            rows = first.RowCount;
        }
        foreach (var input in inputs)
        {
            using var reader = NpyReader.Open(files[input.Name]);
            if (reader.RowCount != rows)
            {
                throw new InvalidDataException($"{files[input.Name]}: has {reader.RowCount} samples, {files[inputs[0].Name]} has {rows}");
            }
            CheckFits(input, reader, files[input.Name]);
        }
        int total = (int)Math.Min(limit ?? rows, rows);
        int batch = inputs[0].Shape.Count > 0 && inputs[0].Shape[0].Size is long fixedBatch ? (int)fixedBatch : batchSize;
        IEnumerable<NamedTensor[]> Enumerate()
        {
            var readers = inputs.Select(i => NpyReader.Open(files[i.Name])).ToArray();
            var values = readers.Select(r => new float[batch * r.RowElementCount]).ToArray();
            var memory = readers.Select((r, i) => new byte[batch * r.RowElementCount * inputs[i].ElementType.SizeOf()]).ToArray();
            try
            {
                for (int start = 0; start < total; start += batch)
                {
                    int count = Math.Min(batch, total - start);
                    var tensors = new NamedTensor[inputs.Count];
                    for (int i = 0; i < inputs.Count; i++)
                    {
                        tensors[i] = ReadBatch(inputs[i], readers[i], start, count, batch, values[i], memory[i]);
                    }
                    yield return tensors;
                }
            }
            finally
            {
                foreach (var reader in readers)
                {
                    reader.Dispose();
                }
            }
        }
        return new CalibrationData(Enumerate, total, $"{string.Join(", ", files.Values.Select(Path.GetFileName))} ({total} samples)");
    }

    private static void CheckFits(TensorSignature input, NpyReader reader, string file)
    {
        var sample = input.Shape.Skip(1).ToList();
        if (reader.RowShape.Length != sample.Count
            || sample.Zip(reader.RowShape).Any(p => p.First.Size is long size && size != p.Second))
        {
            throw new InvalidDataException(
                $"{file}: samples of shape [{string.Join(",", reader.RowShape)}] do not fit input {input}");
        }
        bool floatInput = input.ElementType is ElementType.Float32 or ElementType.Float16 or ElementType.Float64;
        bool floatData = reader.ElementType.IsFloatingPoint();
        if (!floatInput && floatData)
        {
            throw new InvalidDataException($"{file}: holds {reader.ElementType.ToName()} values, input '{input.Name}' takes {input.ElementType.ToName()}");
        }
    }

    private static NamedTensor ReadBatch(TensorSignature input, NpyReader reader, int start, int count, int batch, float[] values, byte[] memory)
    {
        bool fixedBatch = input.Shape[0].IsFixed;
        int rows = fixedBatch ? batch : count;
        long[] shape = [rows, .. reader.RowShape];
        int elements = (int)(count * reader.RowElementCount);
        int size = input.ElementType.SizeOf();
        var data = memory.AsMemory(0, (int)(rows * reader.RowElementCount * size));
        reader.ReadRowsAsFloat32(start, count, values.AsSpan(0, elements));
        TensorConversion.FromFloat32(values.AsSpan(0, elements), input.ElementType, data.Span[..(elements * size)]);
        data.Span[(elements * size)..].Clear();
        return new NamedTensor(input.Name, input.ElementType, shape, data);
    }
}
