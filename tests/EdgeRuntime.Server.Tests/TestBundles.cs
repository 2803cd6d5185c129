using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Server.Tests;

/// <summary>Writes bundle directories of the fixture CNN the way the toolchain lays them out.</summary>
internal static class TestBundles
{
    /// <summary>Two variants "a" and "b" of the fixture CNN; quality recorded for the ids given.</summary>
    public static string FashionPair(string directory, string name = "fashion-cnn", IReadOnlyDictionary<string, double>? quality = null)
    {
        Directory.CreateDirectory(directory);
        byte[] model = SampleModels.FashionCnn();
        var entries = new List<VariantManifest>();
        foreach (string id in new[] { "a", "b" })
        {
            string path = Path.Combine(directory, $"{id}.onnx");
            File.WriteAllBytes(path, model);
            entries.Add(new VariantManifest
            {
                Id = id,
                File = $"{id}.onnx",
                Sha256 = ModelBundle.ComputeSha256(path),
                SizeBytes = model.Length,
                Quality = quality is not null && quality.TryGetValue(id, out double value) ? new QualityRecord { Metric = "top1", Value = value } : null,
            });
        }
        var (inputs, outputs) = OrtSignatures.ReadFromFile(Path.Combine(directory, "a.onnx"));
        ManifestJson.WriteAtomically(new BundleManifest
        {
            Name = name,
            ReferenceVariant = "a",
            CreatedUtc = DateTimeOffset.UnixEpoch,
            Inputs = inputs,
            Outputs = outputs,
            Variants = entries,
        }, Path.Combine(directory, BundleManifest.FileName));
        return directory;
    }

    public static float[] Image(int seed)
    {
        var random = new Random(seed);
        var pixels = new float[28 * 28];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (float)random.NextDouble();
        }
        return pixels;
    }
}
