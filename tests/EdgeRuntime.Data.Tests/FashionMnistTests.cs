using System.Diagnostics;

namespace EdgeRuntime.Data.Tests;

/// <summary>
/// Fashion-MNIST loading and the dataset catalog. These share one class because one test changes
/// the FASHION_MNIST_DIR environment variable, and tests within a class never run in parallel.
/// </summary>
public sealed class FashionMnistTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string InstalledDirectory =>
        Environment.GetEnvironmentVariable(FashionMnist.DirectoryVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : FashionMnist.DefaultDirectory;

    private static void SkipUnlessInstalled() =>
        Assert.SkipUnless(Directory.Exists(InstalledDirectory),
            $"Fashion-MNIST is not installed at {InstalledDirectory} (install Debian package dataset-fashion-mnist or set {FashionMnist.DirectoryVariable})");

    [Fact]
    public void TestSplit_Loads10000ImagesScaledToUnitRange()
    {
        SkipUnlessInstalled();

        var stopwatch = Stopwatch.StartNew();
        LabelledDataset dataset = FashionMnist.Load(FashionMnistSplit.Test);
        stopwatch.Stop();
        TestContext.Current.TestOutputHelper?.WriteLine($"Fashion-MNIST test split loaded in {stopwatch.ElapsedMilliseconds} ms");

        Assert.Equal(10000, dataset.Count);
        Assert.Equal([1L, 28L, 28L], dataset.SampleShape);
        Assert.Equal([10000L, 1L, 28L, 28L], dataset.GetBatchShape(dataset.Count));
        Assert.Equal(10000 * 784, dataset.Samples.Length);

        ReadOnlySpan<float> pixels = dataset.Samples.Span;
        float min = float.MaxValue, max = float.MinValue;
        foreach (float pixel in pixels)
        {
            min = Math.Min(min, pixel);
            max = Math.Max(max, pixel);
        }
        Assert.Equal(0f, min);
        Assert.Equal(1f, max);

        long[] labels = dataset.Labels.ToArray();
        Assert.All(labels, label => Assert.InRange(label, 0, 9));
        // The test split is balanced: 1,000 images per class.
        Assert.All(labels.CountBy(label => label), pair => Assert.Equal(1000, pair.Value));
    }

    [Fact]
    public void TrainSplit_Loads60000Images()
    {
        SkipUnlessInstalled();

        LabelledDataset dataset = FashionMnist.Load(FashionMnistSplit.Train);

        Assert.Equal(60000, dataset.Count);
        Assert.Equal([1L, 28L, 28L], dataset.SampleShape);
        Assert.Equal("fashion-mnist-train", dataset.Name);
    }

    [Fact]
    public void Catalog_ResolvesTheInstalledDataset()
    {
        SkipUnlessInstalled();

        LabelledDataset dataset = DatasetCatalog.Resolve("fashion-mnist");

        Assert.Equal(10000, dataset.Count);
        Assert.Equal("fashion-mnist", dataset.Name);
    }

    /// <summary>Writes a tiny Fashion-MNIST-shaped split (three images) in IDX format.</summary>
    private string WriteFakeSplit(string prefix, byte[] labels, bool gzip = true)
    {
        var pixels = new byte[labels.Length * 784];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)(i % 256);
        }
        byte[] images = IdxBytes.Build(0x08, [labels.Length, 28, 28], pixels);
        byte[] labelFile = IdxBytes.Build(0x08, [labels.Length], labels);
        string suffix = gzip ? ".gz" : "";
        _temp.WriteFile($"{prefix}-images-idx3-ubyte{suffix}", gzip ? IdxBytes.Gzip(images) : images);
        _temp.WriteFile($"{prefix}-labels-idx1-ubyte{suffix}", gzip ? IdxBytes.Gzip(labelFile) : labelFile);
        return _temp.FullPath;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GivenDirectory_IsUsed(bool gzip)
    {
        string directory = WriteFakeSplit("t10k", [4, 0, 9], gzip);

        LabelledDataset dataset = FashionMnist.Load(FashionMnistSplit.Test, directory);

        Assert.Equal(3, dataset.Count);
        Assert.Equal([4L, 0L, 9L], dataset.Labels.ToArray());
        Assert.Equal(0f, dataset.GetSample(0)[0]);
        Assert.Equal(1f / 255f, dataset.GetSample(0)[1], 1e-7f);
        Assert.Equal(1f, dataset.GetSample(0)[255]);
    }

    [Fact]
    public void EnvironmentVariable_IsUsedWhenNoDirectoryIsGiven()
    {
        string directory = WriteFakeSplit("train", [1, 2, 3]);
        string? previous = Environment.GetEnvironmentVariable(FashionMnist.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, directory);
            Assert.Equal([1L, 2L, 3L], FashionMnist.Load(FashionMnistSplit.Train).Labels.ToArray());
            Assert.Equal(3, DatasetCatalog.Resolve("fashion-mnist-train").Count);
        }
        finally
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, previous);
        }
    }

    [Fact]
    public void MissingFiles_ListTriedPathsAndTheDebianPackage()
    {
        var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test, _temp.FullPath));

        Assert.Contains(Path.Combine(_temp.FullPath, "t10k-images-idx3-ubyte.gz"), error.Message);
        Assert.Contains("install Debian package dataset-fashion-mnist", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void EnvironmentVariable_PointingNowhere_DoesNotFallBackToTheDefault()
    {
        string missing = Path.Combine(_temp.FullPath, "missing");
        string? previous = Environment.GetEnvironmentVariable(FashionMnist.DirectoryVariable);
        try
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, missing);
            var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load());
            Assert.Contains(FashionMnist.DirectoryVariable, error.Message);
            Assert.Contains(missing, error.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(FashionMnist.DirectoryVariable, previous);
        }
    }

    [Fact]
    public void LabelOutsideTheTenClasses_IsRejected()
    {
        string directory = WriteFakeSplit("t10k", [1, 12, 3]);

        var error = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(FashionMnistSplit.Test, directory));

        Assert.Contains("t10k-labels-idx1-ubyte.gz", error.Message);
        Assert.Contains("label 12 at index 1", error.Message);
    }

    [Fact]
    public void Catalog_ResolvesNamesCaseInsensitively()
    {
        string directory = WriteFakeSplit("t10k", [5, 6]);
        WriteFakeSplit("train", [7]);

        Assert.Equal(2, DatasetCatalog.Resolve("fashion-mnist", directory).Count);
        Assert.Equal(1, DatasetCatalog.Resolve("FASHION-MNIST-TRAIN", directory).Count);
        Assert.Contains("fashion-mnist", DatasetCatalog.KnownNames);
        Assert.Contains("fashion-mnist-train", DatasetCatalog.KnownNames);
    }

    [Fact]
    public void Catalog_UnknownName_ListsTheKnownNames()
    {
        var error = Assert.Throws<ArgumentException>(() => DatasetCatalog.Resolve("cifar-10"));

        Assert.Contains("'cifar-10'", error.Message);
        Assert.Contains("fashion-mnist", error.Message);
        Assert.Contains("fashion-mnist-train", error.Message);
    }
}
