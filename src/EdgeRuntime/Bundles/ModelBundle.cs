using System.Security.Cryptography;

namespace EdgeRuntime.Bundles;

/// <summary>
/// A bundle opened from disk: its manifest, and for each variant the file to load or the reason it cannot be.
/// Problems of one variant never stop the others from serving.
/// </summary>
public sealed class ModelBundle
{
    private ModelBundle(string directory, BundleManifest manifest, IReadOnlyList<BundleVariant> variants)
    {
        Directory = directory;
        Manifest = manifest;
        Variants = variants;
    }

    public string Directory { get; }
    public BundleManifest Manifest { get; }
    public IReadOnlyList<BundleVariant> Variants { get; }
    public string Name => Manifest.Name;

    public BundleVariant this[string id] =>
        Variants.FirstOrDefault(v => v.Id == id)
        ?? throw new KeyNotFoundException($"bundle '{Name}' has no variant '{id}'; it has {string.Join(", ", Variants.Select(v => v.Id))}");

    /// <summary>Opens a bundle directory: reads the manifest and checks every variant's file and hash.</summary>
    /// <exception cref="BundleException">The manifest is missing, not JSON, or of an unknown schema version.</exception>
    public static ModelBundle Open(string directory, bool checkHashes = true)
    {
        string manifestPath = Path.Combine(directory, BundleManifest.FileName);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new BundleException($"bundle directory '{directory}' does not exist");
        }
        if (!File.Exists(manifestPath))
        {
            throw new BundleException($"'{directory}' is not a bundle: it has no {BundleManifest.FileName}");
        }
        string json;
        try
        {
            json = File.ReadAllText(manifestPath);
        }
        catch (IOException e)
        {
            throw new BundleException($"{manifestPath}: cannot be read: {e.Message}", e);
        }
        var manifest = ManifestJson.Parse(json, manifestPath);
        var variants = manifest.Variants
            .Select(v => CheckVariant(directory, v, checkHashes))
            .ToList();
        return new ModelBundle(Path.GetFullPath(directory), manifest, variants);
    }

    /// <summary>Wraps a single .onnx file as a one-variant bundle, so every tool takes a model or a bundle alike.</summary>
    public static ModelBundle FromModelFile(string modelPath, string variantId = "model")
    {
        if (!File.Exists(modelPath))
        {
            throw new FileNotFoundException($"model file '{modelPath}' does not exist", modelPath);
        }
        var variant = new VariantManifest
        {
            Id = variantId,
            File = Path.GetFileName(modelPath),
            Sha256 = ComputeSha256(modelPath),
            SizeBytes = new FileInfo(modelPath).Length,
        };
        // Inputs and outputs left empty: the loaded session defines them.
        var manifest = new BundleManifest
        {
            Name = Path.GetFileNameWithoutExtension(modelPath),
            ReferenceVariant = variantId,
            Inputs = [],
            Outputs = [],
            Variants = [variant],
            CreatedUtc = File.GetLastWriteTimeUtc(modelPath),
        };
        string directory = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        return new ModelBundle(directory, manifest, [new BundleVariant(variant, Path.GetFullPath(modelPath), null)]);
    }

    /// <summary>Opens a directory as a bundle, or a file as a one-variant bundle.</summary>
    public static ModelBundle OpenPath(string path) =>
        System.IO.Directory.Exists(path) ? Open(path) : FromModelFile(path);

    public static string ComputeSha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static BundleVariant CheckVariant(string directory, VariantManifest variant, bool checkHashes)
    {
        string path = Path.GetFullPath(Path.Combine(directory, variant.File));
        if (!File.Exists(path))
        {
            return new BundleVariant(variant, path, $"file '{variant.File}' is missing");
        }
        long size = new FileInfo(path).Length;
        if (variant.SizeBytes > 0 && size != variant.SizeBytes)
        {
            return new BundleVariant(variant, path, $"file '{variant.File}' is {size} bytes, the manifest says {variant.SizeBytes} (truncated or replaced)");
        }
        if (checkHashes && Mismatch(path, variant.File, variant.Sha256) is string problem)
        {
            return new BundleVariant(variant, path, problem);
        }
        foreach (var data in variant.ExternalData)
        {
            string dataPath = Path.GetFullPath(Path.Combine(directory, data.File));
            if (!File.Exists(dataPath))
            {
                return new BundleVariant(variant, path, $"external data file '{data.File}' is missing");
            }
            long dataSize = new FileInfo(dataPath).Length;
            if (dataSize != data.SizeBytes)
            {
                return new BundleVariant(variant, path, $"external data file '{data.File}' is {dataSize} bytes, the manifest says {data.SizeBytes} (truncated or replaced)");
            }
            if (checkHashes && Mismatch(dataPath, data.File, data.Sha256) is string dataProblem)
            {
                return new BundleVariant(variant, path, "external data " + dataProblem);
            }
        }
        return new BundleVariant(variant, path, null);
    }

    private static string? Mismatch(string path, string file, string expected)
    {
        string actual;
        try
        {
            actual = ComputeSha256(path);
        }
        catch (IOException e)
        {
            return $"file '{file}' cannot be read: {e.Message}";
        }
        return string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase) ? null : $"sha256 mismatch for '{file}': manifest {expected}, file {actual}";
    }
}

/// <summary>A variant's manifest entry, its resolved path, and why it cannot be loaded (null when it can).</summary>
public sealed record BundleVariant(VariantManifest Manifest, string ModelPath, string? Problem)
{
    public string Id => Manifest.Id;
}
