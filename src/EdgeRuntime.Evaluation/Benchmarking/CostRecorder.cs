using EdgeRuntime.Bundles;

namespace EdgeRuntime.Evaluation.Benchmarking;

/// <summary>Writes benchmark figures into a bundle's manifest as the variants' cost on one device class.</summary>
public static class CostRecorder
{
    public static BundleManifest Record(string bundleDirectory, string deviceClass, BenchReport report)
    {
        var measured = report.Variants.Where(v => v.Error is null).ToDictionary(v => v.Variant);
        return Update(bundleDirectory, deviceClass, measured.ContainsKey, (variant, _) =>
        {
            var m = measured[variant.Id];
            // The knob figures of an earlier bench-knobs run stay: they were measured another way.
            return new DeviceCost
            {
                LatencyP50Ms = Math.Round(m.P50Ms, 4),
                LatencyP95Ms = Math.Round(m.P95Ms, 4),
                PeakMemoryBytes = m.PeakRssBytes > 0 ? m.PeakRssBytes : null,
                Threads = report.Machine.IntraOpThreads,
                BatchSize = report.BatchSize,
                MeasuredUtc = report.StartedUtc,
                Knobs = variant.Costs.TryGetValue(deviceClass, out var earlier) ? earlier.Knobs : null,
            };
        });
    }

    /// <summary>Writes what each execution setting cost one variant (from the knob benchmark) into its cost on a device class,
    /// keeping the rest of that cost as it was.</summary>
    public static BundleManifest RecordKnobs(string bundleDirectory, string deviceClass, string variantId, IReadOnlyDictionary<string, KnobCost> knobs, DateTimeOffset measuredUtc)
    {
        var manifest = Update(bundleDirectory, deviceClass, id => id == variantId, (variant, existing) =>
        {
            var merged = new Dictionary<string, KnobCost>(existing?.Knobs ?? new Dictionary<string, KnobCost>());
            foreach (var (code, cost) in knobs)
            {
                merged[code] = cost;
            }
            return (existing ?? new DeviceCost { MeasuredUtc = measuredUtc }) with { Knobs = merged };
        });
        return manifest.Variants.Any(v => v.Id == variantId)
            ? manifest
            : throw new ArgumentException($"bundle '{manifest.Name}' has no variant '{variantId}'");
    }

    private static BundleManifest Update(string bundleDirectory, string deviceClass, Func<string, bool> measured, Func<VariantManifest, DeviceCost?, DeviceCost> cost)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceClass);
        string path = Path.Combine(bundleDirectory, BundleManifest.FileName);
        var manifest = ManifestJson.Parse(File.ReadAllText(path), path);
        manifest = manifest with
        {
            Variants =
            [
                .. manifest.Variants.Select(v =>
                {
                    if (!measured(v.Id))
                    {
                        return v;
                    }
                    var costs = new Dictionary<string, DeviceCost>(v.Costs)
                    {
                        [deviceClass] = cost(v, v.Costs.GetValueOrDefault(deviceClass)),
                    };
                    return v with { Costs = costs };
                }),
            ],
        };
        ManifestJson.WriteAtomically(manifest, path);
        return manifest;
    }
}
