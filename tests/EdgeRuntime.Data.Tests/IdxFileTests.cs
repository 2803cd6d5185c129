using System.Buffers.Binary;

namespace EdgeRuntime.Data.Tests;

public sealed class IdxFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static byte[] ImagesFile() =>
        IdxBytes.Build(0x08, [2, 3, 4], Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray());

    [Fact]
    public void PlainUnsignedBytes_AreRead()
    {
        string path = _temp.WriteFile("images-idx3-ubyte", ImagesFile());

        NpyArray array = IdxFile.Load(path);

        Assert.Equal(DataElementType.UInt8, array.ElementType);
        Assert.Equal([2L, 3L, 4L], array.Shape);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray(), array.ToArray<byte>());
    }

    [Theory]
    [InlineData("images-idx3-ubyte.gz")]
    [InlineData("no-extension")]
    public void GzippedFiles_AreDetectedByContent(string fileName)
    {
        string path = _temp.WriteFile(fileName, IdxBytes.Gzip(ImagesFile()));

        NpyArray array = IdxFile.Load(path);

        Assert.Equal([2L, 3L, 4L], array.Shape);
        Assert.Equal(Enumerable.Range(0, 24).Select(i => (byte)(i * 10)).ToArray(), array.ToArray<byte>());
    }

    [Fact]
    public void PlainFileNamedGz_IsReadAsPlain()
    {
        string path = _temp.WriteFile("misnamed.gz", ImagesFile());
        Assert.Equal([2L, 3L, 4L], IdxFile.Load(path).Shape);
    }

    [Fact]
    public void MultiByteTypes_AreConvertedFromBigEndian()
    {
        var shorts = new byte[4];
        BinaryPrimitives.WriteInt16BigEndian(shorts, -300);
        BinaryPrimitives.WriteInt16BigEndian(shorts.AsSpan(2), 12345);
        var ints = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(ints, int.MinValue);
        BinaryPrimitives.WriteInt32BigEndian(ints.AsSpan(4), 70000);
        var floats = new byte[8];
        BinaryPrimitives.WriteSingleBigEndian(floats, 0.125f);
        BinaryPrimitives.WriteSingleBigEndian(floats.AsSpan(4), -3e20f);
        var doubles = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(doubles, Math.E);

        Assert.Equal([(short)-300, (short)12345], Load(0x0B, [2], shorts).ToArray<short>());
        Assert.Equal([int.MinValue, 70000], Load(0x0C, [1, 2], ints).ToArray<int>());
        Assert.Equal([0.125f, -3e20f], Load(0x0D, [2, 1], floats).ToArray<float>());
        Assert.Equal([Math.E], Load(0x0E, [1], doubles).ToArray<double>());
        Assert.Equal([(sbyte)-128, (sbyte)127], Load(0x09, [2], [0x80, 0x7F]).ToArray<sbyte>());
    }

    private NpyArray Load(byte type, int[] shape, byte[] data) =>
        IdxFile.Load(_temp.WriteFile($"typed-{type}", IdxBytes.Build(type, shape, data)));

    [Fact]
    public void Stream_IsReadWithoutBeingClosed()
    {
        using var stream = new MemoryStream(IdxBytes.Gzip(ImagesFile()));
        Assert.Equal([2L, 3L, 4L], IdxFile.Read(stream, "memory").Shape);
        Assert.True(stream.CanRead);
    }

    [Fact]
    public void NonSeekableGzipStream_IsRead()
    {
        using var stream = new NonSeekableStream(IdxBytes.Gzip(ImagesFile()));
        Assert.Equal([2L, 3L, 4L], IdxFile.Read(stream, "pipe").Shape);
    }

    private void AssertRejected(byte[] content, params string[] expectedFragments)
    {
        string path = _temp.WriteFile($"bad-{Guid.NewGuid():N}", content);
        var error = Assert.Throws<InvalidDataException>(() => IdxFile.Load(path));
        Assert.StartsWith(path + ": ", error.Message);
        foreach (string fragment in expectedFragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void BadMagic() => AssertRejected([0x01, 0x02, 0x08, 0x01, 0, 0, 0, 0], "not an IDX file", "bad magic", "01 02 08 01");

    [Fact]
    public void TextFile_IsNotIdx() => AssertRejected("hello, world"u8.ToArray(), "not an IDX file");

    [Fact]
    public void EmptyFile() => AssertRejected([], "truncated", "0 bytes");

    [Fact]
    public void UnsupportedType() => AssertRejected([0, 0, 0x0A, 1, 0, 0, 0, 1, 5], "unsupported IDX element type 0x0A");

    [Fact]
    public void TruncatedDimensions() => AssertRejected([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0], "truncated header", "3 dimensions");

    [Fact]
    public void TruncatedData() => AssertRejected(ImagesFile()[..^5], "truncated", "needs 24 bytes", "only 19");

    [Fact]
    public void TruncatedDataInsideGzip() =>
        AssertRejected(IdxBytes.Gzip(ImagesFile()[..^5]), "truncated", "decompressed data", "only 19");

    [Fact]
    public void TruncatedGzipStream()
    {
        byte[] large = IdxBytes.Build(0x08, [100, 100], Enumerable.Range(0, 10000).Select(i => (byte)(i * 7919 >> 3)).ToArray());
        byte[] gzipped = IdxBytes.Gzip(large);
        AssertRejected(gzipped[..(gzipped.Length / 2)]);
    }

    [Fact]
    public void CorruptGzipStream() =>
        AssertRejected([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0xFF, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34], "gzip");
}
