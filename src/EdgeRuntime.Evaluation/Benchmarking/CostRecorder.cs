using EdgeRuntime.Bundles;

namespace EdgeRuntime.Evaluation.Benchmarking;

/// <summary>Writes benchmark figures into a bundle's manifest as the variants' cost on one device class.</summary>
public static class CostRecorder
{
    public static BundleManifest Record(string bundleDirectory, string deviceClass, BenchReport report)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceClass);
        string path = Path.Combine(bundleDirectory, BundleManifest.FileName);
        var manifest = ManifestJson.Parse(File.ReadAllText(path), path);
        var measured = report.Variants.Where(v => v.Error is null).ToDictionary(v => v.Variant);
        manifest = manifest with
        {
            Variants =
            [
                .. manifest.Variants.Select(v =>
                {
                    if (!measured.TryGetValue(v.Id, out var m))
                    {
                        return v;
                    }
                    var costs = new Dictionary<string, DeviceCost>(v.Costs)
                    {
                        [deviceClass] = new DeviceCost
                        {
                            LatencyP50Ms = Math.Round(m.P50Ms, 4),
                            LatencyP95Ms = Math.Round(m.P95Ms, 4),
                            PeakMemoryBytes = m.PeakRssBytes > 0 ? m.PeakRssBytes : null,
                            Threads = report.Machine.IntraOpThreads,
                            BatchSize = report.BatchSize,
                            MeasuredUtc = report.StartedUtc,
                        },
                    };
                    return v with { Costs = costs };
                }),
            ],
        };
        ManifestJson.WriteAtomically(manifest, path);
        return manifest;
    }
}
