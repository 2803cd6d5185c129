namespace EdgeRuntime.Data.Tests;

/// <summary>Every malformed .npy file must fail with an <see cref="InvalidDataException"/> naming the file and the problem.</summary>
public sealed class NpyMalformedInputTests : IDisposable
{
    private const string GoodHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private void AssertRejected(byte[] content, params string[] expectedFragments)
    {
        string path = _temp.WriteFile($"bad-{Guid.NewGuid():N}.npy", content);

        var loadError = Assert.Throws<InvalidDataException>(() => NpyFile.Load(path));
        Assert.Contains(path, loadError.Message);
        foreach (string fragment in expectedFragments)
        {
            Assert.Contains(fragment, loadError.Message, StringComparison.OrdinalIgnoreCase);
        }

        // The streaming reader reports the same problems (at open, or at the first read).
        var readerError = Assert.Throws<InvalidDataException>(() =>
        {
            using var reader = NpyReader.Open(path);
            reader.ReadAll();
        });
        Assert.Equal(loadError.Message, readerError.Message);
    }

    [Fact]
    public void BadMagic() =>
        AssertRejected("PK\u0003\u0004 this is a zip file, not npy"u8.ToArray(), "bad magic", "50 4B 03 04");

    [Fact]
    public void EmptyFile() => AssertRejected([], "not a .npy file", "empty");

    [Fact]
    public void FileEndsInsideMagic() => AssertRejected([0x93, (byte)'N', (byte)'U'], "truncated");

    [Fact]
    public void FileEndsInsideHeaderLength() => AssertRejected([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, 5], "truncated header");

    [Fact]
    public void TruncatedHeader() =>
        AssertRejected(NpyBytes.Build(GoodHeader, [])[..30], "truncated header", $"declares {GoodHeader.Length} bytes");

    [Fact]
    public void UnsupportedVersion() =>
        AssertRejected(NpyBytes.Build(GoodHeader, new byte[24], major: 4), "unsupported .npy format version 4.0");

    [Theory]
    [InlineData("<c8")]
    [InlineData("<U5")]
    [InlineData("|O")]
    [InlineData("<M8[ns]")]
    [InlineData("<f16")]
    public void UnsupportedDtype(string descr) =>
        AssertRejected(NpyBytes.Build($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}\n", new byte[64]),
            $"unsupported dtype '{descr}'", "<f4");

    [Fact]
    public void StructuredDtype() =>
        AssertRejected(NpyBytes.Build("{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (2,), }\n", new byte[16]),
            "unsupported dtype", "structured");

    [Fact]
    public void DataShorterThanShape() =>
        AssertRejected(NpyBytes.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }\n", new byte[12]),
            "data is shorter than the shape says", "needs 40 bytes", "only 12");

    [Fact]
    public void NegativeDimension() =>
        AssertRejected(NpyBytes.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n", []),
            "negative dimension", "(2, -3)");

    [Theory]
    [InlineData("[1, 2, 3]")]
    [InlineData("'descr'")]
    [InlineData("42")]
    public void HeaderNotADict(string header) =>
        AssertRejected(NpyBytes.Build(header + "\n", []), "header is not a dict");

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}")]
    [InlineData("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}")]
    [InlineData("{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}")]
    [InlineData("{'descr': '<f4, 'fortran_order': False, 'shape': (2,)}")]
    [InlineData("")]
    public void HeaderNotParseable(string header) =>
        AssertRejected(NpyBytes.Build(header + "\n", new byte[64]), "not a valid Python dict literal");

    [Theory]
    [InlineData("{'fortran_order': False, 'shape': (2,)}", "'descr'")]
    [InlineData("{'descr': '<f4', 'shape': (2,)}", "'fortran_order'")]
    [InlineData("{'descr': '<f4', 'fortran_order': False}", "'shape'")]
    public void MissingKey(string header, string key) =>
        AssertRejected(NpyBytes.Build(header + "\n", new byte[64]), $"no {key} key");

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}", "'fortran_order' must be True or False")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': 2}", "'shape' must be a tuple of integers")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': ('2',)}", "'shape' must be a tuple of integers")]
    [InlineData("{'descr': 4, 'fortran_order': False, 'shape': (2,)}", "'descr' must be a dtype string")]
    public void WrongValueTypes(string header, string problem) =>
        AssertRejected(NpyBytes.Build(header + "\n", new byte[64]), problem);

    [Fact]
    public void ShapeTooLargeToAddress() =>
        AssertRejected(NpyBytes.Build("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n", []),
            "more elements than can be addressed");

    [Fact]
    public void DataShorterThanShape_OnANonSeekableStream_IsReportedAtRead()
    {
        byte[] content = NpyBytes.Build("{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }\n", new byte[12]);
        using var stream = new NonSeekableStream(content);

        var error = Assert.Throws<InvalidDataException>(() => NpyFile.Read(stream, "piped.npy"));

        Assert.StartsWith("piped.npy: data is shorter than the shape says", error.Message);
    }

    [Fact]
    public void MissingFile_GivesFileNotFound()
    {
        string path = _temp.PathOf("absent.npy");
        var error = Assert.Throws<FileNotFoundException>(() => NpyFile.Load(path));
        Assert.Contains(path, error.Message);
    }
}
