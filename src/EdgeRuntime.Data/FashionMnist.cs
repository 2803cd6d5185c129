namespace EdgeRuntime.Data;

/// <summary>
/// Zalando's Fashion-MNIST: 28×28 grey-scale images of clothing in 10 classes, stored as IDX files.
/// Loads as float32 samples [N, 1, 28, 28] scaled to [0, 1] with int64 labels 0..9.
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Environment variable naming a directory to use instead of <see cref="DefaultDirectory"/>.</summary>
    public const string DirectoryVariable = "FASHION_MNIST_DIR";

    public const int ImageSize = 28;

    /// <summary>Class names by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads a split from <paramref name="directory"/> if given, else from $FASHION_MNIST_DIR if set,
    /// else from <see cref="DefaultDirectory"/>. Gzipped (*.gz) or unpacked files are accepted.
    /// </summary>
    /// <exception cref="FileNotFoundException">The files are in none of the places tried (the message lists them).</exception>
    /// <exception cref="InvalidDataException">A file is corrupt or the images and labels do not match.</exception>
    public static LabelledDataset Load(FashionMnistSplit split = FashionMnistSplit.Test, string? directory = null)
    {
        var (imagesPath, labelsPath) = LocateFiles(split, directory);
        NpyArray images = IdxFile.Load(imagesPath);
        NpyArray labels = IdxFile.Load(labelsPath);

        if (images.ElementType != DataElementType.UInt8 || images.Rank != 3 || images.Shape[1] != ImageSize || images.Shape[2] != ImageSize)
        {
            throw DataFormatErrors.Create(imagesPath, $"expected uint8 images of shape (N, {ImageSize}, {ImageSize}), found {images}");
        }
        if (labels.ElementType != DataElementType.UInt8 || labels.Rank != 1)
        {
            throw DataFormatErrors.Create(labelsPath, $"expected uint8 labels of shape (N,), found {labels}");
        }
        if (labels.Shape[0] != images.Shape[0])
        {
            throw DataFormatErrors.Create(labelsPath, $"{labels.Shape[0]} labels for {images.Shape[0]} images in {imagesPath}");
        }
        int badLabel = labels.Data.Span.IndexOfAnyExceptInRange((byte)0, (byte)(ClassNames.Count - 1));
        if (badLabel >= 0)
        {
            throw DataFormatErrors.Create(labelsPath, $"label {labels.Data.Span[badLabel]} at index {badLabel} is not a class (0..{ClassNames.Count - 1})");
        }

        // Pixels are 0..255; add the single channel axis that image models expect.
        NpyArray withChannel = images.Reshape(images.Shape[0], 1, ImageSize, ImageSize);
        string name = split == FashionMnistSplit.Test ? "fashion-mnist" : "fashion-mnist-train";
        return LabelledDataset.FromArrays(withChannel, labels, name, sampleScale: 1f / 255f, sourceName: imagesPath);
    }

    /// <summary>The images and labels files of a split, or <see cref="FileNotFoundException"/> listing where we looked.</summary>
    public static (string ImagesPath, string LabelsPath) LocateFiles(FashionMnistSplit split, string? directory = null)
    {
        string prefix = split == FashionMnistSplit.Test ? "t10k" : "train";
        // An explicit choice (argument, then environment) is the only place we look, so a typo is not
        // silently papered over by the default copy.
        string? fromEnvironment = Environment.GetEnvironmentVariable(DirectoryVariable);
        var (searched, source) = !string.IsNullOrEmpty(directory)
            ? (directory, "the given directory")
            : !string.IsNullOrEmpty(fromEnvironment)
                ? (fromEnvironment, $"${DirectoryVariable}")
                : (DefaultDirectory, "the default directory");
        var tried = new List<string>();
        // The upstream files are gzipped; accept unpacked copies too (IdxFile detects gzip by content).
        foreach (string suffix in (string[])[".gz", ""])
        {
            string images = Path.Combine(searched, $"{prefix}-images-idx3-ubyte{suffix}");
            string labels = Path.Combine(searched, $"{prefix}-labels-idx1-ubyte{suffix}");
            if (File.Exists(images) && File.Exists(labels))
            {
                return (images, labels);
            }
            tried.Add(images);
            tried.Add(labels);
        }

        throw new FileNotFoundException(
            $"Fashion-MNIST {split.ToString().ToLowerInvariant()} split not found in {source} ({searched}); tried: {string.Join(", ", tried)}. " +
            $"Install Debian package dataset-fashion-mnist (files go to {DefaultDirectory}), or set {DirectoryVariable} to a directory holding {prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz.",
            tried[0]);
    }
}
