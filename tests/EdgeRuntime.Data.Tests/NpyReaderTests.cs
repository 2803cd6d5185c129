using System.Buffers.Binary;

namespace EdgeRuntime.Data.Tests;

public sealed class NpyReaderTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(10)]
    [InlineData(103)]
    [InlineData(500)]
    public void Batches_ConcatenateToTheFullArray(int batchSize)
    {
        NpyArray full = TestArrays.Sequence(DataElementType.Float32, 103, 4, 5);
        string path = _temp.PathOf("rows.npy");
        NpyFile.Save(path, full);

        using var reader = NpyReader.Open(path);
        var batches = reader.ReadBatches(batchSize).ToList();

        Assert.Equal((103 + batchSize - 1) / batchSize, batches.Count);
        Assert.All(batches, b => Assert.Equal([4L, 5L], b.Shape[1..]));
        Assert.Equal(103, batches.Sum(b => b.Shape[0]));
        Assert.Equal(full.Data.ToArray(), batches.SelectMany(b => b.Data.ToArray()).ToArray());
    }

    [Fact]
    public void ReadRows_MatchesTheCorrespondingSliceOfTheFullLoad()
    {
        NpyArray full = TestArrays.Sequence(DataElementType.Int16, 50, 3);
        string path = _temp.PathOf("rows.npy");
        NpyFile.Save(path, full);
        short[] all = NpyFile.Load(path).ToArray<short>();

        using var reader = NpyReader.Open(path);
        Assert.Equal(50, reader.RowCount);
        Assert.Equal([3L], reader.RowShape);
        Assert.Equal(6, reader.RowByteLength);

        // Out of order, to exercise seeking.
        NpyArray middle = reader.ReadRows(20, 7);
        NpyArray first = reader.ReadRows(0, 2);
        NpyArray last = reader.ReadRows(49, 1);
        NpyArray none = reader.ReadRows(50, 0);

        Assert.Equal([7L, 3L], middle.Shape);
        Assert.Equal(all[60..81], middle.ToArray<short>());
        Assert.Equal(all[..6], first.ToArray<short>());
        Assert.Equal(all[^3..], last.ToArray<short>());
        Assert.Equal([0L, 3L], none.Shape);
    }

    [Fact]
    public void ReadRows_IntoCallerBuffers()
    {
        NpyArray full = TestArrays.Sequence(DataElementType.UInt8, 10, 2, 2);
        string path = _temp.PathOf("bytes.npy");
        NpyFile.Save(path, full);

        using var reader = NpyReader.Open(path);
        var bytes = new byte[12];
        reader.ReadRows(2, 3, bytes);
        var floats = new float[12];
        reader.ReadRowsAsFloat32(2, 3, floats);

        Assert.Equal(full.Data.ToArray()[8..20], bytes);
        Assert.Equal(TestArrays.ExpectedFloats(DataElementType.UInt8, 40)[8..20], floats);
        Assert.Throws<ArgumentException>(() => reader.ReadRows(0, 4, bytes));
    }

    [Fact]
    public void ReadRowsAsFloat32_ForFloat32Data_ReadsDirectly()
    {
        NpyArray full = TestArrays.Sequence(DataElementType.Float32, 6, 2);
        string path = _temp.PathOf("floats.npy");
        NpyFile.Save(path, full);

        using var reader = NpyReader.Open(path);
        var floats = new float[4];
        reader.ReadRowsAsFloat32(4, 2, floats);

        Assert.Equal(full.ToFloat32()[8..12], floats);
    }

    [Fact]
    public void ReadRows_OutsideTheArray_Throws()
    {
        string path = _temp.PathOf("small.npy");
        NpyFile.Save(path, TestArrays.Sequence(DataElementType.Float32, 5, 2));

        using var reader = NpyReader.Open(path);
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadRows(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadRows(-1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => reader.ReadRows(0, -1));
    }

    [Fact]
    public void BigEndianRows_AreSwapped()
    {
        var data = new byte[6 * 4];
        for (int i = 0; i < 6; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(data.AsSpan(i * 4), i * 1000 - 2500);
        }
        string path = _temp.WriteFile("be.npy", NpyBytes.Build("{'descr': '>i4', 'fortran_order': False, 'shape': (3, 2), }\n", data));

        using var reader = NpyReader.Open(path);

        Assert.Equal([1500, 2500], reader.ReadRows(2, 1).ToArray<int>());
        Assert.Equal([-2500, -1500, -500, 500], reader.ReadRows(0, 2).ToArray<int>());
    }

    [Fact]
    public void ZeroDimensionalArray_IsOneRow()
    {
        string path = _temp.PathOf("scalar.npy");
        NpyFile.Save(path, NpyArray.FromValues<double>([2.5]));

        using var reader = NpyReader.Open(path);

        Assert.Equal(1, reader.RowCount);
        Assert.Empty(reader.RowShape);
        NpyArray row = reader.ReadRows(0, 1);
        Assert.Equal([1L], row.Shape);
        Assert.Equal([2.5], row.ToArray<double>());
    }

    [Fact]
    public void EmptyFirstAxis_HasNoBatches()
    {
        string path = _temp.PathOf("empty.npy");
        NpyFile.Save(path, NpyArray.Zeros(DataElementType.Float32, 0, 3));

        using var reader = NpyReader.Open(path);

        Assert.Equal(0, reader.RowCount);
        Assert.Empty(reader.ReadBatches(4));
        Assert.Equal([0L, 3L], reader.ReadAll().Shape);
    }

    [Fact]
    public void NonSeekableStream_IsReadSequentially()
    {
        NpyArray full = TestArrays.Sequence(DataElementType.Float64, 9, 2);
        var buffer = new MemoryStream();
        NpyFile.Write(buffer, full);

        using var reader = new NpyReader(new NonSeekableStream(buffer.ToArray()), "piped.npy");
        byte[] streamed = reader.ReadBatches(4).SelectMany(b => b.Data.ToArray()).ToArray();

        Assert.Equal(full.Data.ToArray(), streamed);
    }

    [Fact]
    public void NonSeekableStream_RejectsOutOfOrderReads()
    {
        var buffer = new MemoryStream();
        NpyFile.Write(buffer, TestArrays.Sequence(DataElementType.Float32, 9, 2));

        using var reader = new NpyReader(new NonSeekableStream(buffer.ToArray()), "piped.npy");
        reader.ReadRows(0, 2);

        var error = Assert.Throws<NotSupportedException>(() => reader.ReadRows(5, 1));
        Assert.Contains("piped.npy", error.Message);
    }

    [Fact]
    public void StreamAtAnOffset_IsReadFromThere()
    {
        var buffer = new MemoryStream();
        buffer.Write("prefix"u8);
        NpyArray full = TestArrays.Sequence(DataElementType.Int32, 4, 3);
        NpyFile.Write(buffer, full);
        buffer.Position = 6;

        using var reader = new NpyReader(buffer, "embedded", leaveOpen: true);

        Assert.Equal(full.ToArray<int>()[6..9], reader.ReadRows(2, 1).ToArray<int>());
    }
}
