namespace EdgeRuntime.Data;

/// <summary>
/// Samples with one integer label each, held in memory: a float32 tensor of shape [Count, ..SampleShape]
/// and an int64 vector of length Count. Slices share memory with the dataset they come from.
/// </summary>
public sealed class LabelledDataset
{
    private readonly ReadOnlyMemory<float> _samples;
    private readonly ReadOnlyMemory<long> _labels;
    private readonly long[] _sampleShape;

    /// <param name="samples">Count × SampleLength values, sample after sample.</param>
    /// <param name="sampleShape">Shape of one sample, e.g. [1, 28, 28].</param>
    /// <param name="labels">One label per sample.</param>
    public LabelledDataset(ReadOnlyMemory<float> samples, long[] sampleShape, ReadOnlyMemory<long> labels, string name = "dataset")
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(name);
        long sampleLength = ShapeMath.ElementCountOrOverflow(sampleShape);
        if (sampleLength < 0 || sampleLength > int.MaxValue)
        {
            throw new ArgumentException($"sample shape {ShapeMath.ToTuple(sampleShape)} is negative or too large", nameof(sampleShape));
        }
        if ((long)labels.Length * sampleLength != samples.Length)
        {
            throw new ArgumentException(
                $"{name}: {labels.Length} labels need {labels.Length} samples of shape {ShapeMath.ToTuple(sampleShape)} ({(long)labels.Length * sampleLength} values), but there are {samples.Length} values",
                nameof(samples));
        }
        _samples = samples;
        _labels = labels;
        _sampleShape = (long[])sampleShape.Clone();
        SampleLength = (int)sampleLength;
        Name = name;
    }

    /// <summary>Builds a dataset from a samples array [N, ...] of any numeric type and integer labels [N].</summary>
    /// <param name="sampleScale">Factor applied to every sample value, e.g. 1/255 for 8-bit pixels.</param>
    /// <param name="sourceName">Named in error messages.</param>
    /// <exception cref="InvalidDataException">Ranks, label type or first dimensions do not fit together.</exception>
    public static LabelledDataset FromArrays(NpyArray samples, NpyArray labels, string name = "dataset", float sampleScale = 1f, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(labels);
        string source = sourceName ?? name;
        if (samples.Rank == 0)
        {
            throw DataFormatErrors.Create(source, "samples must have a first (sample) axis, but the samples array is 0-d");
        }
        if (labels.Rank != 1)
        {
            throw DataFormatErrors.Create(source, $"labels must be a vector of shape (N,), but their shape is {ShapeMath.ToTuple(labels.Shape)}");
        }
        if (!labels.ElementType.IsInteger())
        {
            throw DataFormatErrors.Create(source, $"labels must have an integer dtype, but they are {labels.ElementType.ToName()}");
        }
        if (samples.Shape[0] != labels.Shape[0])
        {
            throw DataFormatErrors.Create(source,
                $"samples and labels disagree on the number of samples: samples have {samples.Shape[0]} (shape {ShapeMath.ToTuple(samples.Shape)}), labels have {labels.Shape[0]}");
        }

        var values = new float[samples.ElementCount];
        ElementConverter.ToFloat32(samples.ElementType, samples.Data.Span, values, sampleScale);
        long[] labelValues;
        try
        {
            labelValues = labels.ToInt64();
        }
        catch (OverflowException e)
        {
            throw DataFormatErrors.Create(source, "a uint64 label does not fit in int64", e);
        }
        return new LabelledDataset(values, samples.Shape[1..], labelValues, name);
    }

    /// <summary>Loads samples and labels from two .npy files (labels: any integer dtype, same first dimension).</summary>
    /// <param name="sampleScale">Factor applied to every sample value, e.g. 1/255 for uint8 pixels stored raw.</param>
    public static LabelledDataset FromNpy(string samplesPath, string labelsPath, float sampleScale = 1f)
    {
        ArgumentException.ThrowIfNullOrEmpty(samplesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        NpyArray samples = NpyFile.Load(samplesPath);
        NpyArray labels = NpyFile.Load(labelsPath);
        return FromArrays(samples, labels, Path.GetFileNameWithoutExtension(samplesPath), sampleScale, $"{samplesPath} + {labelsPath}");
    }

    public string Name { get; }
    public int Count => _labels.Length;

    /// <summary>Shape of one sample (a copy), e.g. [1, 28, 28].</summary>
    public long[] SampleShape => (long[])_sampleShape.Clone();

    /// <summary>Number of values in one sample.</summary>
    public int SampleLength { get; }

    /// <summary>All sample values, sample after sample.</summary>
    public ReadOnlyMemory<float> Samples => _samples;

    public ReadOnlyMemory<long> Labels => _labels;

    /// <summary>The tensor shape of a batch of <paramref name="count"/> samples: [count, ..SampleShape].</summary>
    public long[] GetBatchShape(int count) => [count, .. _sampleShape];

    public ReadOnlySpan<float> GetSample(int index)
    {
        CheckRange(index, 1);
        return _samples.Span.Slice(index * SampleLength, SampleLength);
    }

    public long GetLabel(int index)
    {
        CheckRange(index, 1);
        return _labels.Span[index];
    }

    /// <summary>Copies samples [start, start+count) into <paramref name="destination"/> (at least count × SampleLength values).</summary>
    public void GetBatch(int start, int count, Span<float> destination)
    {
        CheckRange(start, count);
        int length = count * SampleLength;
        if (destination.Length < length)
        {
            throw new ArgumentException($"destination holds {destination.Length} values but {count} samples need {length}", nameof(destination));
        }
        _samples.Span.Slice(start * SampleLength, length).CopyTo(destination);
    }

    /// <summary>Copies samples and labels [start, start+count) into the destinations.</summary>
    public void GetBatch(int start, int count, Span<float> samplesDestination, Span<long> labelsDestination)
    {
        GetBatch(start, count, samplesDestination);
        if (labelsDestination.Length < count)
        {
            throw new ArgumentException($"destination holds {labelsDestination.Length} labels but the batch has {count}", nameof(labelsDestination));
        }
        _labels.Span.Slice(start, count).CopyTo(labelsDestination);
    }

    /// <summary>A new array holding samples [start, start+count).</summary>
    public float[] GetBatch(int start, int count)
    {
        CheckRange(start, count);
        return _samples.Slice(start * SampleLength, count * SampleLength).ToArray();
    }

    /// <summary>A new array holding labels [start, start+count).</summary>
    public long[] GetLabels(int start, int count)
    {
        CheckRange(start, count);
        return _labels.Slice(start, count).ToArray();
    }

    /// <summary>Samples [start, start+count) as a dataset sharing this one's memory.</summary>
    public LabelledDataset Slice(int start, int count)
    {
        CheckRange(start, count);
        return new LabelledDataset(
            _samples.Slice(start * SampleLength, count * SampleLength), _sampleShape, _labels.Slice(start, count), Name);
    }

    public override string ToString() => $"{Name}: {Count} samples of shape {ShapeMath.ToTuple(_sampleShape)}";

    private void CheckRange(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((long)start + count > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"samples {start}..{(long)start + count} are outside {Name}'s {Count} samples");
        }
    }
}
