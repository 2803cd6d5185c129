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
    /// <param name="batchAxes">Input name → the axis of the model input that the file's samples (its first axis) fill;
    /// inputs not named get the axis inferred from the model's symbolic dimensions (see <see cref="InferBatchAxis"/>).</param>
    public FeedPlan Plan(IReadOnlyList<TensorSignature> inputs, int preferredBatch, string modelName, IReadOnlyDictionary<string, int>? batchAxes = null)
    {
        batchAxes ??= new Dictionary<string, int>();
        foreach (string name in batchAxes.Keys.Where(n => inputs.All(i => i.Name != n)))
        {
            throw new ArgumentException($"--batch-axis given for '{name}', which is not an input of {modelName} (inputs: {string.Join(", ", inputs.Select(i => i.Name))})");
        }
        var bindings = new List<InputBinding>(inputs.Count);
        foreach (var input in inputs)
        {
            var reader = FindReader(input, inputs, modelName);
            bindings.Add(Bind(input, reader, modelName, batchAxes.TryGetValue(input.Name, out int axis) ? axis : null, inputs));
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
            var fixedSizes = bindings.Select(b => b.Input.Shape[b.BatchAxis].Size).OfType<long>().Distinct().ToList();
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
            bool fixedBatch = binding.HasBatchAxis && binding.Input.Shape[binding.BatchAxis].IsFixed;
            int rows = fixedBatch ? plan.BatchSize : count;
            long[] shape = binding.HasBatchAxis ? [rows, .. reader.RowShape] : [.. reader.RowShape];
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
            if (binding.HasBatchAxis && binding.BatchAxis > 0)
            {
                tensor = MoveSampleAxis(tensor, reader.RowShape, rows, binding.BatchAxis);
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

    /// <summary>
    /// [samples, r0, r1, ...] as read from the file → the samples on axis <paramref name="axis"/>:
    /// [r0, ..., samples, ...], e.g. a [batch, layers, hidden] read of a [layers, batch, hidden] state.
    /// </summary>
    private static NamedTensor MoveSampleAxis(NamedTensor tensor, long[] rowShape, int samples, int axis)
    {
        long outer = 1, inner = 1;
        for (int d = 0; d < rowShape.Length; d++)
        {
            if (d < axis)
            {
                outer *= rowShape[d];
            }
            else
            {
                inner *= rowShape[d];
            }
        }
        long[] shape = [.. rowShape[..axis], samples, .. rowShape[axis..]];
        var moved = NamedTensor.Zeros(tensor.Name, tensor.ElementType, shape);
        int chunk = checked((int)(inner * tensor.ElementType.SizeOf()));
        var source = tensor.Data.Span;
        var target = moved.Data.Span;
        for (long s = 0; s < samples; s++)
        {
            for (long o = 0; o < outer; o++)
            {
                source.Slice(checked((int)((s * outer + o) * chunk)), chunk).CopyTo(target.Slice(checked((int)((o * samples + s) * chunk)), chunk));
            }
        }
        return moved;
    }

    /// <summary>
    /// The axis a batch of samples fills when the user did not say: the axis whose symbolic dimension is
    /// the batch symbol of the model (the symbol of axis 0 of the inputs that start with one), when exactly
    /// one axis has it; else the only symbolic axis; else axis 0.
    /// </summary>
    public static int InferBatchAxis(TensorSignature input, IReadOnlyList<TensorSignature> inputs)
    {
        var symbols = inputs.Where(i => i.Shape.Count > 0 && !i.Shape[0].IsFixed && i.Shape[0].Symbol is not (null or "?"))
            .Select(i => i.Shape[0].Symbol!).Distinct().ToList();
        if (symbols.Count == 1)
        {
            var matching = Enumerable.Range(0, input.Shape.Count).Where(a => input.Shape[a].Symbol == symbols[0]).ToList();
            if (matching.Count == 1)
            {
                return matching[0];
            }
        }
        var open = Enumerable.Range(0, input.Shape.Count).Where(a => !input.Shape[a].IsFixed).ToList();
        return open.Count == 1 ? open[0] : 0;
    }

    private static InputBinding Bind(TensorSignature input, NpyReader reader, string modelName, int? givenAxis, IReadOnlyList<TensorSignature> inputs)
    {
        var rowShape = reader.RowShape;
        var dims = input.Shape;
        bool hasBatchAxis;
        IEnumerable<TensorDimension> sampleDims;
        int batchAxis = 0;
        string Shape(IEnumerable<long> d) => $"[{string.Join(",", d)}]";
        if (givenAxis is int axis)
        {
            if (axis < 0 || axis >= dims.Count)
            {
                throw new ArgumentException($"--batch-axis {input.Name}={axis}: input {input} has axes 0 to {dims.Count - 1}");
            }
            if (dims.Count != rowShape.Length + 1)
            {
                throw new InvalidDataException(
                    $"{reader.SourceName}: input '{input.Name}' of {modelName} expects [{string.Join(",", dims)}] with the samples on axis {axis}, so each sample must have rank {dims.Count - 1}; the file's samples have shape {Shape(rowShape)}");
            }
            var expected = dims.Where((_, a) => a != axis).ToList();
            if (expected.Zip(rowShape).Any(p => p.First.Size is long size && size != p.Second))
            {
                throw new InvalidDataException(
                    $"{reader.SourceName}: input '{input.Name}' of {modelName} expects [{string.Join(",", dims)}] with the samples on axis {axis}, so samples of shape [{string.Join(",", expected)}]; the file's samples have shape {Shape(rowShape)}");
            }
            hasBatchAxis = true;
            batchAxis = axis;
            sampleDims = expected;
        }
        else if (dims.Count == rowShape.Length + 1)
        {
            hasBatchAxis = true;
            batchAxis = InferBatchAxis(input, inputs);
            sampleDims = dims.Where((_, a) => a != batchAxis);
            if (batchAxis != 0 && sampleDims.Zip(rowShape).Any(p => p.First.Size is long size && size != p.Second))
            {
                // The file may hold the input's own layout with the samples first: fall back to axis 0.
                batchAxis = 0;
                sampleDims = dims.Skip(1);
            }
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
                $"{reader.SourceName}: samples of shape [{string.Join(",", rowShape)}] do not fit input {input} of {modelName} (samples on axis {batchAxis}: expected [{string.Join(",", sampleDims)}]; give --batch-axis {input.Name}=K if the batch is on another axis)");
        }
        bool floatInput = input.ElementType is ElementType.Float32 or ElementType.Float16 or ElementType.Float64;
        if (!floatInput && reader.ElementType.IsFloatingPoint())
        {
            throw new InvalidDataException(
                $"{reader.SourceName}: holds {reader.ElementType.ToName()} values, but input '{input.Name}' of {modelName} takes {input.ElementType.ToName()}");
        }
        bool same = ElementTypes.TryParse(reader.ElementType.ToName(), out var dataType) && dataType == input.ElementType;
        return new InputBinding(input, reader, hasBatchAxis, same, batchAxis);
    }
}

/// <summary>How each model input is fed: from which file, with or without a batch axis.</summary>
/// <param name="BatchAxis">The model input's axis the samples fill (the file holds them on its first axis).</param>
internal sealed record InputBinding(TensorSignature Input, NpyReader Reader, bool HasBatchAxis, bool SameElementType, int BatchAxis = 0);

/// <summary>The inputs' bindings and the number of samples per inference.</summary>
internal sealed record FeedPlan(IReadOnlyList<InputBinding> Bindings, int BatchSize)
{
    public bool HasBatchAxis => Bindings.All(b => b.HasBatchAxis);
}
