using System.Text;

namespace EdgeRuntime.Data.Tests;

public sealed class NpyRoundTripTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    public static TheoryData<DataElementType, string> DTypesAndShapes()
    {
        var data = new TheoryData<DataElementType, string>();
        foreach (var type in Enum.GetValues<DataElementType>())
        {
            foreach (string shape in (string[])["", "5", "2,3", "2,3,4", "0", "0,7", "1,1,1,1"])
            {
                data.Add(type, shape);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void SaveThenLoad_PreservesTypeShapeAndBytes(DataElementType type, string shapeText)
    {
        long[] shape = shapeText.Length == 0 ? [] : shapeText.Split(',').Select(long.Parse).ToArray();
        NpyArray original = TestArrays.Sequence(type, shape);
        string path = _temp.PathOf($"{type}-{shapeText.Replace(',', 'x')}.npy");

        NpyFile.Save(path, original);
        NpyArray loaded = NpyFile.Load(path);

        Assert.Equal(type, loaded.ElementType);
        Assert.Equal(shape, loaded.Shape);
        Assert.Equal(original.Data.ToArray(), loaded.Data.ToArray());
        Assert.Equal(TestArrays.ExpectedFloats(type, original.ElementCount), loaded.ToFloat32());
    }

    [Theory]
    [MemberData(nameof(DTypesAndShapes))]
    public void WrittenHeader_IsPaddedTo64BytesAndEndsWithNewline(DataElementType type, string shapeText)
    {
        long[] shape = shapeText.Length == 0 ? [] : shapeText.Split(',').Select(long.Parse).ToArray();
        var stream = new MemoryStream();
        NpyFile.Write(stream, TestArrays.Sequence(type, shape));
        byte[] bytes = stream.ToArray();

        Assert.Equal(1, bytes[6]);
        Assert.Equal(0, bytes[7]);
        int headerLength = bytes[8] | bytes[9] << 8;
        int dataOffset = 10 + headerLength;
        Assert.Equal(0, dataOffset % 64);
        Assert.Equal((byte)'\n', bytes[dataOffset - 1]);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        string expectedShape = shape.Length switch
        {
            0 => "()",
            1 => $"({shape[0]},)",
            _ => $"({string.Join(", ", shape)})",
        };
        Assert.StartsWith($"{{'descr': '", header);
        Assert.Contains($"'shape': {expectedShape}", header);
        Assert.Contains("'fortran_order': False", header);
    }

    [Fact]
    public void TypedAccessors_ExposeValues()
    {
        NpyArray array = NpyArray.FromValues<int>([1, -2, 3, 4, 5, 6], 2, 3);

        Assert.Equal(DataElementType.Int32, array.ElementType);
        Assert.Equal([1, -2, 3, 4, 5, 6], array.AsSpan<int>().ToArray());
        Assert.Equal([1f, -2f, 3f, 4f, 5f, 6f], array.ToFloat32());
        Assert.Equal([1L, -2L, 3L, 4L, 5L, 6L], array.ToInt64());
        var error = Assert.Throws<InvalidOperationException>(() => array.AsSpan<float>());
        Assert.Contains("int32", error.Message);
    }

    [Theory]
    [InlineData(DataElementType.UInt8)]
    [InlineData(DataElementType.Int8)]
    public void ToFloat32_ConvertsEveryByteValue(DataElementType type)
    {
        // Long enough for the vectorised path plus an odd-sized tail.
        byte[] bytes = Enumerable.Range(0, 1037).Select(i => (byte)(i * 7)).ToArray();
        var array = new NpyArray(type, [bytes.Length], bytes);

        float[] expected = bytes.Select(b => type == DataElementType.UInt8 ? (float)b : (sbyte)b).ToArray();
        Assert.Equal(expected, array.ToFloat32());
    }

    [Fact]
    public void ToInt64_RejectsFloatingPointArrays()
    {
        NpyArray array = NpyArray.FromValues<float>([1.5f], 1);
        Assert.Throws<InvalidOperationException>(() => array.ToInt64());
    }

    [Fact]
    public void ExtremeValues_RoundTrip()
    {
        string path = _temp.PathOf("extremes.npy");
        NpyFile.Save(path, NpyArray.FromValues<long>([long.MinValue, long.MaxValue, 0], 3));
        Assert.Equal([long.MinValue, long.MaxValue, 0], NpyFile.Load(path).AsSpan<long>().ToArray());

        NpyFile.Save(path, NpyArray.FromValues<ulong>([ulong.MaxValue, 1], 2));
        Assert.Equal([ulong.MaxValue, 1UL], NpyFile.Load(path).AsSpan<ulong>().ToArray());

        NpyFile.Save(path, NpyArray.FromValues<double>([double.NaN, double.NegativeInfinity, double.Epsilon], 3));
        Assert.Equal([double.NaN, double.NegativeInfinity, double.Epsilon], NpyFile.Load(path).AsSpan<double>().ToArray());

        NpyFile.Save(path, NpyArray.FromValues<Half>([Half.MaxValue, Half.MinValue, Half.Epsilon], 3));
        Assert.Equal([Half.MaxValue, Half.MinValue, Half.Epsilon], NpyFile.Load(path).AsSpan<Half>().ToArray());
    }

    [Fact]
    public void NpyArray_RejectsDataThatDoesNotMatchTheShape()
    {
        var error = Assert.Throws<ArgumentException>(() => new NpyArray(DataElementType.Float32, [2, 3], new byte[20]));
        Assert.Contains("24 bytes", error.Message);
    }

    [Fact]
    public void Reshape_SharesData()
    {
        NpyArray array = TestArrays.Sequence(DataElementType.Float32, 2, 3);
        NpyArray reshaped = array.Reshape(3, 2);
        reshaped.AsSpan<float>()[0] = 42f;

        Assert.Equal([3L, 2L], reshaped.Shape);
        Assert.Equal(42f, array.AsSpan<float>()[0]);
        Assert.Throws<ArgumentException>(() => array.Reshape(4, 2));
    }
}
