using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Tests;

/// <summary>Writes bundle directories the way the toolchain does: files, hashes, signatures, manifest.</summary>
internal static class TestBundles
{
    /// <summary>A bundle whose variants are the given ONNX files (id → bytes); the first is the reference.</summary>
    public static string Write(string directory, params (string Id, byte[] Model)[] variants)
    {
        Directory.CreateDirectory(directory);
        var entries = new List<VariantManifest>();
        foreach (var (id, model) in variants)
        {
            string file = $"{id}.onnx";
            string path = Path.Combine(directory, file);
            File.WriteAllBytes(path, model);
            entries.Add(new VariantManifest
            {
                Id = id,
                File = file,
                Sha256 = ModelBundle.ComputeSha256(path),
                SizeBytes = model.Length,
            });
        }
        var (inputs, outputs) = OrtSignatures.ReadFromFile(Path.Combine(directory, entries[0].File));
        var manifest = new BundleManifest
        {
            Name = "test-bundle",
            ReferenceVariant = entries[0].Id,
            CreatedUtc = DateTimeOffset.UnixEpoch,
            Inputs = inputs,
            Outputs = outputs,
            Variants = entries,
        };
        ManifestJson.WriteAtomically(manifest, Path.Combine(directory, BundleManifest.FileName));
        return directory;
    }

    /// <summary>Two variants of the fixture CNN ("a" and "b").</summary>
    public static string FashionPair(string directory) =>
        Write(directory, ("a", SampleModels.FashionCnn()), ("b", SampleModels.FashionCnn()));
}
