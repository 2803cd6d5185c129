namespace EdgeRuntime.Data.Tests;

public sealed class LabelledDatasetTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static LabelledDataset FiveSamples() =>
        new(Enumerable.Range(0, 5 * 6).Select(i => (float)i).ToArray(), [1, 2, 3], new long[] { 9, 8, 7, 6, 5 }, "five");

    [Fact]
    public void Properties_DescribeTheData()
    {
        LabelledDataset dataset = FiveSamples();

        Assert.Equal(5, dataset.Count);
        Assert.Equal([1L, 2L, 3L], dataset.SampleShape);
        Assert.Equal(6, dataset.SampleLength);
        Assert.Equal([4L, 1L, 2L, 3L], dataset.GetBatchShape(4));
        Assert.Equal([6f, 7f, 8f, 9f, 10f, 11f], dataset.GetSample(1).ToArray());
        Assert.Equal(7, dataset.GetLabel(2));
    }

    [Fact]
    public void GetBatch_CopiesIntoSpansOrNewArrays()
    {
        LabelledDataset dataset = FiveSamples();

        var samples = new float[12 + 3];
        var labels = new long[2];
        dataset.GetBatch(3, 2, samples, labels);

        Assert.Equal(Enumerable.Range(18, 12).Select(i => (float)i), samples[..12]);
        Assert.Equal([0f, 0f, 0f], samples[12..]);
        Assert.Equal([6L, 5L], labels);
        Assert.Equal(Enumerable.Range(6, 12).Select(i => (float)i), dataset.GetBatch(1, 2));
        Assert.Equal([8L, 7L], dataset.GetLabels(1, 2));
        Assert.Empty(dataset.GetBatch(5, 0));
    }

    [Fact]
    public void GetBatch_ChecksRangesAndDestinations()
    {
        LabelledDataset dataset = FiveSamples();

        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetBatch(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetBatch(-1, 1));
        Assert.Throws<ArgumentException>(() => dataset.GetBatch(0, 2, new float[11]));
        Assert.Throws<ArgumentException>(() => dataset.GetBatch(0, 2, new float[12], new long[1]));
    }

    [Fact]
    public void Slice_SharesDataAndKeepsTheSampleShape()
    {
        LabelledDataset slice = FiveSamples().Slice(1, 3);

        Assert.Equal(3, slice.Count);
        Assert.Equal([1L, 2L, 3L], slice.SampleShape);
        Assert.Equal([8L, 7L, 6L], slice.Labels.ToArray());
        Assert.Equal(Enumerable.Range(12, 6).Select(i => (float)i), slice.GetSample(1).ToArray());
        Assert.Equal(1, slice.Slice(2, 1).Count);
        Assert.Equal(6, slice.Slice(2, 1).GetLabel(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => slice.Slice(2, 2));
    }

    [Fact]
    public void Constructor_RejectsMismatchedLengths() =>
        Assert.Throws<ArgumentException>(() => new LabelledDataset(new float[10], [3], new long[3]));

    [Fact]
    public void FromNpy_LoadsSamplesAndIntegerLabels()
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, NpyArray.FromValues<byte>([0, 51, 102, 255, 0, 0, 255, 255], 2, 2, 2));
        NpyFile.Save(labelsPath, NpyArray.FromValues<int>([3, 1], 2));

        LabelledDataset dataset = LabelledDataset.FromNpy(samplesPath, labelsPath, sampleScale: 1f / 255f);

        Assert.Equal(2, dataset.Count);
        Assert.Equal([2L, 2L], dataset.SampleShape);
        Assert.Equal([3L, 1L], dataset.Labels.ToArray());
        Assert.Equal([0f, 0.2f, 0.4f, 1f], dataset.GetSample(0).ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal("x", dataset.Name);
    }

    [Fact]
    public void FromArrays_ScalesEveryPixelValueExactly()
    {
        byte[] pixels = Enumerable.Range(0, 2 * 300).Select(i => (byte)(i % 256)).ToArray();
        var samples = new NpyArray(DataElementType.UInt8, [2, 300], pixels);
        var labels = NpyArray.FromValues<byte>([0, 1], 2);

        LabelledDataset dataset = LabelledDataset.FromArrays(samples, labels, sampleScale: 1f / 255f);

        Assert.Equal(pixels.Select(p => p * (1f / 255f)), dataset.Samples.ToArray());
        Assert.Equal(1f, dataset.GetSample(0)[255]);
    }

    [Theory]
    [InlineData(DataElementType.Int8)]
    [InlineData(DataElementType.UInt8)]
    [InlineData(DataElementType.Int16)]
    [InlineData(DataElementType.UInt16)]
    [InlineData(DataElementType.Int32)]
    [InlineData(DataElementType.UInt32)]
    [InlineData(DataElementType.Int64)]
    [InlineData(DataElementType.UInt64)]
    public void FromNpy_AcceptsEveryIntegerLabelType(DataElementType labelType)
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, TestArrays.Sequence(DataElementType.Float32, 4, 3));
        NpyFile.Save(labelsPath, TestArrays.Sequence(labelType, 4));

        LabelledDataset dataset = LabelledDataset.FromNpy(samplesPath, labelsPath);

        Assert.Equal(Enumerable.Range(0, 4).Select(i => (long)TestArrays.ExpectedValue(labelType, i)), dataset.Labels.ToArray());
        Assert.Equal(TestArrays.ExpectedFloats(DataElementType.Float32, 12), dataset.Samples.ToArray());
    }

    [Fact]
    public void FromNpy_MismatchedCounts_NamesBothFilesAndCounts()
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, NpyArray.Zeros(DataElementType.Float32, 5, 3));
        NpyFile.Save(labelsPath, NpyArray.Zeros(DataElementType.Int64, 4));

        var error = Assert.Throws<InvalidDataException>(() => LabelledDataset.FromNpy(samplesPath, labelsPath));

        Assert.Contains(samplesPath, error.Message);
        Assert.Contains(labelsPath, error.Message);
        Assert.Contains("samples have 5", error.Message);
        Assert.Contains("labels have 4", error.Message);
    }

    [Fact]
    public void FromNpy_RejectsFloatLabels()
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, NpyArray.Zeros(DataElementType.Float32, 2, 3));
        NpyFile.Save(labelsPath, NpyArray.Zeros(DataElementType.Float32, 2));

        var error = Assert.Throws<InvalidDataException>(() => LabelledDataset.FromNpy(samplesPath, labelsPath));
        Assert.Contains("integer dtype", error.Message);
    }

    [Fact]
    public void FromNpy_RejectsLabelsThatAreNotAVector()
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, NpyArray.Zeros(DataElementType.Float32, 2, 3));
        NpyFile.Save(labelsPath, NpyArray.Zeros(DataElementType.Int32, 2, 1));

        var error = Assert.Throws<InvalidDataException>(() => LabelledDataset.FromNpy(samplesPath, labelsPath));
        Assert.Contains("(2, 1)", error.Message);
    }

    [Fact]
    public void FromNpy_RejectsScalarSamples()
    {
        string samplesPath = _temp.PathOf("x.npy");
        string labelsPath = _temp.PathOf("y.npy");
        NpyFile.Save(samplesPath, NpyArray.FromValues<float>([1f]));
        NpyFile.Save(labelsPath, NpyArray.Zeros(DataElementType.Int32, 1));

        var error = Assert.Throws<InvalidDataException>(() => LabelledDataset.FromNpy(samplesPath, labelsPath));
        Assert.Contains("0-d", error.Message);
    }
}
