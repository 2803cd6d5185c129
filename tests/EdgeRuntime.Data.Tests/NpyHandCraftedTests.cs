using System.Buffers.Binary;

namespace EdgeRuntime.Data.Tests;

/// <summary>Files built byte by byte, covering header variants other writers (and older NumPy versions) produce.</summary>
public sealed class NpyHandCraftedTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Version1Header_IsRead()
    {
        string path = _temp.WriteFile("v1.npy", NpyBytes.Build(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }          \n",
            NpyBytes.LittleEndianFloats(1f, 2f, 3f, 4f)));

        NpyArray array = NpyFile.Load(path);

        Assert.Equal(DataElementType.Float32, array.ElementType);
        Assert.Equal([2L, 2L], array.Shape);
        Assert.Equal([1f, 2f, 3f, 4f], array.AsSpan<float>().ToArray());
        Assert.Equal(new Version(1, 0), NpyFile.ReadHeader(path).FormatVersion);
    }

    [Fact]
    public void Version2Header_IsRead()
    {
        string path = _temp.WriteFile("v2.npy", NpyBytes.Build(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n",
            NpyBytes.LittleEndianFloats(1.5f, -2f, 8f), major: 2));

        NpyArray array = NpyFile.Load(path);

        Assert.Equal([3L], array.Shape);
        Assert.Equal([1.5f, -2f, 8f], array.AsSpan<float>().ToArray());
        Assert.Equal(new Version(2, 0), NpyFile.ReadHeader(path).FormatVersion);
    }

    [Fact]
    public void Version3Header_IsReadAsUtf8()
    {
        string path = _temp.WriteFile("v3.npy", NpyBytes.Build(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), 'note': 'größe'}\n", [7, 9], major: 3));

        NpyArray array = NpyFile.Load(path);

        Assert.Equal([(byte)7, (byte)9], array.AsSpan<byte>().ToArray());
        Assert.Equal(new Version(3, 0), NpyFile.ReadHeader(path).FormatVersion);
    }

    [Theory]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': ()}", new long[0])]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }", new long[] { 5 })]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", new long[] { 2, 3 })]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (2,3,)}", new long[] { 2, 3 })]
    [InlineData("{ 'shape' : ( 2 , 3 ) , 'fortran_order' : False , 'descr' : '<i4' , }", new long[] { 2, 3 })]
    [InlineData("{\"descr\": \"<i4\", \"fortran_order\": False, \"shape\": (6,)}", new long[] { 6 })]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': (2L, 3L), }", new long[] { 2, 3 })]
    [InlineData("{'descr': '<i4', 'fortran_order': False, 'shape': [1, 6]}", new long[] { 1, 6 })]
    [InlineData("{'descr':'<i4','fortran_order':False,'shape':(6,),'extra':None}", new long[] { 6 })]
    [InlineData("\t{'descr': '<i4',\n 'fortran_order': False,\n 'shape': (0, 4)}   \n", new long[] { 0, 4 })]
    public void HeaderDictVariants_AreParsed(string header, long[] expectedShape)
    {
        long count = expectedShape.Aggregate(1L, (a, b) => a * b);
        string path = _temp.WriteFile("variant.npy", NpyBytes.Build(header + "\n", new byte[count * 4]));

        NpyArray array = NpyFile.Load(path);

        Assert.Equal(DataElementType.Int32, array.ElementType);
        Assert.Equal(expectedShape, array.Shape);
    }

    [Fact]
    public void BigEndianData_IsSwappedOnRead()
    {
        var floats = new byte[12];
        BinaryPrimitives.WriteSingleBigEndian(floats, 1.5f);
        BinaryPrimitives.WriteSingleBigEndian(floats.AsSpan(4), -2f);
        BinaryPrimitives.WriteSingleBigEndian(floats.AsSpan(8), 1e30f);
        var longs = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(longs, -5);
        BinaryPrimitives.WriteInt64BigEndian(longs.AsSpan(8), long.MaxValue);
        var shorts = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(shorts, 0xABCD);
        BinaryPrimitives.WriteUInt16BigEndian(shorts.AsSpan(2), 1);
        var halves = new byte[2];
        BinaryPrimitives.WriteHalfBigEndian(halves, (Half)0.25f);
        var doubles = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(doubles, Math.PI);

        Assert.Equal([1.5f, -2f, 1e30f], LoadBigEndian(">f4", "(3,)", floats).AsSpan<float>().ToArray());
        Assert.Equal([-5L, long.MaxValue], LoadBigEndian(">i8", "(2,)", longs).AsSpan<long>().ToArray());
        Assert.Equal([(ushort)0xABCD, (ushort)1], LoadBigEndian(">u2", "(2,)", shorts).AsSpan<ushort>().ToArray());
        Assert.Equal([(Half)0.25f], LoadBigEndian(">f2", "(1,)", halves).AsSpan<Half>().ToArray());
        Assert.Equal([Math.PI], LoadBigEndian(">f8", "()", doubles).AsSpan<double>().ToArray());
        // Single-byte types have no byte order; a '>' prefix must not disturb them.
        Assert.Equal([(byte)1, (byte)2], LoadBigEndian(">u1", "(2,)", [1, 2]).AsSpan<byte>().ToArray());
        LoadBigEndian(">i4", "(0,)", []);
        Assert.True(NpyFile.ReadHeader(_temp.PathOf("be.npy")).IsBigEndian);
    }

    private NpyArray LoadBigEndian(string descr, string shape, byte[] data)
    {
        string path = _temp.WriteFile("be.npy", NpyBytes.Build($"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n", data));
        return NpyFile.Load(path);
    }

    [Fact]
    public void BoolAndSingleByteDescrs_AreRecognised()
    {
        Assert.Equal([true, false, true], Load("|b1", "(3,)", [1, 0, 1]).AsSpan<bool>().ToArray());
        Assert.Equal([(sbyte)-1, (sbyte)5], Load("|i1", "(2,)", [0xFF, 5]).AsSpan<sbyte>().ToArray());
        Assert.Equal([(byte)200], Load("|u1", "(1,)", [200]).AsSpan<byte>().ToArray());
        Assert.Equal([1f, 0f], Load("|b1", "(2,)", [1, 0]).ToFloat32());
    }

    private NpyArray Load(string descr, string shape, byte[] data)
    {
        string path = _temp.WriteFile("small.npy", NpyBytes.Build($"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n", data));
        return NpyFile.Load(path);
    }

    [Fact]
    public void FortranOrder_IsTransposedToRowMajorOnLoad()
    {
        // The 2x3 matrix [[0,1,2],[3,4,5]] stored column by column.
        string path = _temp.WriteFile("fortran.npy", NpyBytes.Build(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
            NpyBytes.LittleEndianFloats(0f, 3f, 1f, 4f, 2f, 5f)));

        NpyArray array = NpyFile.Load(path);

        Assert.Equal([2L, 3L], array.Shape);
        Assert.Equal([0f, 1f, 2f, 3f, 4f, 5f], array.AsSpan<float>().ToArray());
        Assert.True(NpyFile.ReadHeader(path).FortranOrder);
    }

    [Fact]
    public void FortranOrder_RowReadsAreRejectedWithAClearMessage()
    {
        string path = _temp.WriteFile("fortran.npy", NpyBytes.Build(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n",
            NpyBytes.LittleEndianFloats(0f, 3f, 1f, 4f, 2f, 5f)));

        using var reader = NpyReader.Open(path);
        var error = Assert.Throws<NotSupportedException>(() => reader.ReadRows(0, 1));
        Assert.Contains(path, error.Message);
        Assert.Contains("Fortran", error.Message);
    }

    [Fact]
    public void FortranOrderVector_IsReadRowByRow()
    {
        // A 1-D array is laid out the same in either order.
        string path = _temp.WriteFile("fortran-vector.npy", NpyBytes.Build(
            "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n", NpyBytes.LittleEndianFloats(1f, 2f, 3f)));

        using var reader = NpyReader.Open(path);
        Assert.Equal([2f, 3f], reader.ReadRows(1, 2).AsSpan<float>().ToArray());
    }
}
