using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Feeding;

/// <summary>
/// Turns samples of a data set into input tensors the model accepts: batches of the size asked for
/// when the batch dimension is symbolic, the model's own size when it is fixed (the last batch padded),
/// and one sample at a time for models without a batch dimension.
/// </summary>
public sealed class BatchFeeder
{
    private readonly TensorSignature _input;
    private readonly long[] _sampleShape;
    private readonly int _sampleLength;
    private readonly bool _hasBatchAxis;

    private BatchFeeder(TensorSignature input, long[] sampleShape, int sampleLength, int batchSize, bool hasBatchAxis, bool padsLastBatch)
    {
        _input = input;
        _sampleShape = sampleShape;
        _sampleLength = sampleLength;
        BatchSize = batchSize;
        _hasBatchAxis = hasBatchAxis;
        PadsLastBatch = padsLastBatch;
    }

    /// <summary>Samples per inference.</summary>
    public int BatchSize { get; }

    /// <summary>True when the model's batch is fixed and a short last batch is padded with zeros.</summary>
    public bool PadsLastBatch { get; }

    public string InputName => _input.Name;

    /// <param name="inputs">The model's inputs; exactly one is supported.</param>
    /// <param name="dataSampleShape">Shape of one sample in the data, without the sample axis.</param>
    /// <param name="preferredBatch">Batch size to use where the model leaves it open.</param>
    public static BatchFeeder Create(IReadOnlyList<TensorSignature> inputs, long[] dataSampleShape, int preferredBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(preferredBatch, 1);
        if (inputs.Count != 1)
        {
            throw new NotSupportedException(
                $"the model takes {inputs.Count} inputs ({string.Join(", ", inputs.Select(i => i.Name))}); evaluation feeds exactly one");
        }
        var input = inputs[0];
        long dataLength = dataSampleShape.Aggregate(1L, (a, b) => a * b);
        var dims = input.Shape;
        // The model's view of one sample: its shape without the batch axis, when there is one.
        bool hasBatchAxis = dims.Count >= 1 && (!dims[0].IsFixed || dims.Count == dataSampleShape.Length + 1);
        var modelSample = hasBatchAxis ? dims.Skip(1).ToList() : dims.ToList();
        long[] sampleShape = ResolveSampleShape(input, modelSample, dataSampleShape, dataLength);
        int batch = !hasBatchAxis ? 1 : dims[0].Size is long fixedBatch ? checked((int)fixedBatch) : preferredBatch;
        bool pads = hasBatchAxis && dims[0].IsFixed && batch > 1;
        return new BatchFeeder(input, sampleShape, checked((int)dataLength), batch, hasBatchAxis, pads);
    }

    /// <summary>Builds the input tensor for <paramref name="count"/> samples (at most <see cref="BatchSize"/>).</summary>
    public NamedTensor MakeBatch(ReadOnlySpan<float> samples, int count) => MakeBatch(samples, count, null);

    /// <summary>Bytes a full batch takes, for callers that reuse one buffer across batches.</summary>
    public int BatchByteLength => BatchSize * _sampleLength * _input.ElementType.SizeOf();

    /// <summary>Like <see cref="MakeBatch(ReadOnlySpan{float}, int)"/>, writing into <paramref name="buffer"/> (reused across batches).</summary>
    public NamedTensor MakeBatch(ReadOnlySpan<float> samples, int count, Memory<byte>? buffer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, BatchSize);
        int rows = PadsLastBatch ? BatchSize : count;
        long[] shape = _hasBatchAxis ? [rows, .. _sampleShape] : [.. _sampleShape];
        int elementSize = _input.ElementType.SizeOf();
        int bytes = (_hasBatchAxis ? rows : 1) * _sampleLength * elementSize;
        Memory<byte> data = buffer is { } reuse ? reuse[..bytes] : new byte[bytes];
        var tensor = new NamedTensor(_input.Name, _input.ElementType, shape, data);
        int filled = count * _sampleLength * elementSize;
        TensorConversion.FromFloat32(samples[..(count * _sampleLength)], _input.ElementType, data.Span[..filled]);
        data.Span[filled..].Clear();
        return tensor;
    }

    private static long[] ResolveSampleShape(TensorSignature input, List<TensorDimension> modelSample, long[] dataSampleShape, long dataLength)
    {
        if (modelSample.Count == dataSampleShape.Length
            && modelSample.Zip(dataSampleShape).All(p => p.First.Size is null || p.First.Size == p.Second))
        {
            return dataSampleShape;
        }
        // Same number of values in another layout (e.g. [784] data for a [1, 28, 28] input): reshape.
        if (modelSample.All(d => d.IsFixed) && modelSample.Aggregate(1L, (a, d) => a * d.Size!.Value) == dataLength)
        {
            return [.. modelSample.Select(d => d.Size!.Value)];
        }
        throw new InvalidDataException(
            $"data samples of shape [{string.Join(",", dataSampleShape)}] do not fit input {input}");
    }
}
