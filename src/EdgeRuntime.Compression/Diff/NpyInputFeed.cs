using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Diff;

/// <summary>
/// Feeds .npy files (samples along the first axis, one file per model input) to a model in batches it
/// accepts, reading only the rows of the current batch from disk.
/// </summary>
internal sealed class NpyInputFeed : IDisposable
{
    /// <summary>Key for a single file given without an input name.</summary>
    public const string Unnamed = "";

    private readonly Dictionary<string, NpyReader> _readers;

    private NpyInputFeed(Dictionary<string, NpyReader> readers, int sampleCount, string description)
    {
        _readers = readers;
        SampleCount = sampleCount;
        Description = description;
    }

    public int SampleCount { get; }
    public string Description { get; }

    /// <param name="files">Input name to .npy path; <see cref="Unnamed"/> for one file fed to a single-input model.</param>
    public static NpyInputFeed Open(IReadOnlyDictionary<string, string> files, int? limit)
    {
        if (files.Count == 0)
        {
            throw new ArgumentException("no data given: pass at least one .npy file (samples along the first axis)");
        }
        if (files.Count > 1 && files.ContainsKey(Unnamed))
        {
            throw new ArgumentException("with several data files, name each one after the model input it feeds: NAME=FILE.npy");
        }
        var readers = new Dictionary<string, NpyReader>(StringComparer.Ordinal);
        try
        {
            long rows = -1;
            string? first = null;
            foreach (var (name, path) in files)
            {
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"data file '{path}' does not exist", path);
                }
                var reader = NpyReader.Open(path);
                readers[name] = reader;
                if (reader.Header.Rank == 0)
                {
                    throw new InvalidDataException($"{path}: holds a single value; samples must lie along the first axis");
                }
                if (rows >= 0 && reader.RowCount != rows)
                {
                    throw new InvalidDataException($"{path}: has {reader.RowCount} samples, {first} has {rows}; every input needs the same number");
                }
                rows = reader.RowCount;
                first ??= path;
            }
            if (rows == 0)
            {
                throw new InvalidDataException($"{first}: holds no samples");
            }
            int count = (int)Math.Min(limit ?? rows, rows);
            string description = $"{string.Join(", ", files.Values.Select(Path.GetFileName))} ({count} samples)";
            return new NpyInputFeed(readers, count, description);
        }
        catch
        {
            foreach (var reader in readers.Values)
            {
                reader.Dispose();
            }
            throw;
        }
    }

    /// <summary>Checks the files against a model's inputs and works out how to batch them.</summary>
    public FeedPlan Plan(IReadOnlyList<TensorSignature> inputs, int preferredBatch, string modelName)
    {
        var bindings = new List<InputBinding>(inputs.Count);
        foreach (var input in inputs)
        {
            var reader = FindReader(input, inputs, modelName);
            bindings.Add(Bind(input, reader, modelName));
        }
        foreach (string name in _readers.Keys.Where(n => n != Unnamed && inputs.All(i => i.Name != n)))
        {
            throw new ArgumentException($"data given for '{name}', which is not an input of {modelName} (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
        }
        int batch;
        if (bindings.Any(b => !b.HasBatchAxis))
        {
            batch = 1;
        }
        else
        {
            var fixedSizes = bindings.Select(b => b.Input.Shape[0].Size).OfType<long>().Distinct().ToList();
            if (fixedSizes.Count > 1)
            {
                throw new NotSupportedException($"{modelName}: inputs fix different batch sizes ({string.Join(", ", fixedSizes)})");
            }
            batch = fixedSizes.Count == 1 ? checked((int)fixedSizes[0]) : preferredBatch;
        }
        return new FeedPlan(bindings, batch);
    }

    /// <summary>Samples [start, start+count) as input tensors; a fixed batch larger than count is padded with zeros.</summary>
    public NamedTensor[] ReadBatch(FeedPlan plan, int start, int count)
    {
        var tensors = new NamedTensor[plan.Bindings.Count];
        for (int i = 0; i < tensors.Length; i++)
        {
            var binding = plan.Bindings[i];
            var reader = binding.Reader;
            bool fixedBatch = binding.HasBatchAxis && binding.Input.Shape[0].IsFixed;
            long[] shape = binding.HasBatchAxis ? [fixedBatch ? plan.BatchSize : count, .. reader.RowShape] : [.. reader.RowShape];
            var tensor = NamedTensor.Zeros(binding.Input.Name, binding.Input.ElementType, shape);
            int valueCount = checked((int)(count * reader.RowElementCount));
            if (binding.SameElementType)
            {
                reader.ReadRows(start, count, tensor.Data.Span);
            }
            else
            {
                var values = new float[valueCount];
                reader.ReadRowsAsFloat32(start, count, values);
                TensorConversion.FromFloat32(values, binding.Input.ElementType, tensor.Data.Span[..(valueCount * binding.Input.ElementType.SizeOf())]);
            }
            tensors[i] = tensor;
        }
        return tensors;
    }

    public void Dispose()
    {
        foreach (var reader in _readers.Values)
        {
            reader.Dispose();
        }
    }

    private NpyReader FindReader(TensorSignature input, IReadOnlyList<TensorSignature> inputs, string modelName)
    {
        if (_readers.TryGetValue(input.Name, out var named))
        {
            return named;
        }
        if (_readers.TryGetValue(Unnamed, out var single))
        {
            if (inputs.Count == 1)
            {
                return single;
            }
            throw new ArgumentException(
                $"{modelName} takes {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); give one file per input as NAME=FILE.npy");
        }
        throw new ArgumentException(
            $"no data for input '{input.Name}' of {modelName}; give one file per input as NAME=FILE.npy ({string.Join(", ", inputs.Select(i => i.Name))})");
    }

    private static InputBinding Bind(TensorSignature input, NpyReader reader, string modelName)
    {
        var rowShape = reader.RowShape;
        var dims = input.Shape;
        bool hasBatchAxis;
        IEnumerable<TensorDimension> sampleDims;
        if (dims.Count == rowShape.Length + 1)
        {
            hasBatchAxis = true;
            sampleDims = dims.Skip(1);
        }
        else if (dims.Count == rowShape.Length)
        {
            hasBatchAxis = false;
            sampleDims = dims;
        }
        else
        {
            throw new InvalidDataException(
                $"{reader.SourceName}: samples of shape [{string.Join(",", rowShape)}] do not fit input {input} of {modelName} (samples lie along the file's first axis)");
        }
        if (sampleDims.Zip(rowShape).Any(p => p.First.Size is long size && size != p.Second))
        {
            throw new InvalidDataException(
                $"{reader.SourceName}: samples of shape [{string.Join(",", rowShape)}] do not fit input {input} of {modelName}");
        }
        bool floatInput = input.ElementType is ElementType.Float32 or ElementType.Float16 or ElementType.Float64;
        if (!floatInput && reader.ElementType.IsFloatingPoint())
        {
            throw new InvalidDataException(
                $"{reader.SourceName}: holds {reader.ElementType.ToName()} values, but input '{input.Name}' of {modelName} takes {input.ElementType.ToName()}");
        }
        bool same = ElementTypes.TryParse(reader.ElementType.ToName(), out var dataType) && dataType == input.ElementType;
        return new InputBinding(input, reader, hasBatchAxis, same);
    }
}

/// <summary>How each model input is fed: from which file, with or without a batch axis.</summary>
internal sealed record InputBinding(TensorSignature Input, NpyReader Reader, bool HasBatchAxis, bool SameElementType);

/// <summary>The inputs' bindings and the number of samples per inference.</summary>
internal sealed record FeedPlan(IReadOnlyList<InputBinding> Bindings, int BatchSize)
{
    public bool HasBatchAxis => Bindings.All(b => b.HasBatchAxis);
}
