using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Server.Tests;

/// <summary>Writes bundle directories of the fixture CNN the way the toolchain lays them out.</summary>
internal static class TestBundles
{
    /// <summary>
    /// Two variants "a" and "b" of the fixture CNN; quality recorded for the ids given, and measured costs on
    /// <paramref name="deviceClass"/> for the ids in <paramref name="costs"/> (the governor's notion of heavier and lighter).
    /// </summary>
    public static string FashionPair(string directory, string name = "fashion-cnn", IReadOnlyDictionary<string, double>? quality = null,
        string? deviceClass = null, IReadOnlyDictionary<string, DeviceCost>? costs = null)
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
                Costs = deviceClass is not null && costs is not null && costs.TryGetValue(id, out var cost)
                    ? new Dictionary<string, DeviceCost> { [deviceClass] = cost }
                    : new Dictionary<string, DeviceCost>(),
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

    /// <summary>The pair with "a" measured about twice as slow as "b" on <paramref name="deviceClass"/>, so "b" is the lighter one.</summary>
    public static string CostedPair(string directory, string deviceClass) => FashionPair(directory, deviceClass: deviceClass, costs: new Dictionary<string, DeviceCost>
    {
        ["a"] = new() { LatencyP50Ms = 10, LatencyP95Ms = 12 },
        ["b"] = new() { LatencyP50Ms = 4, LatencyP95Ms = 5 },
    });

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
