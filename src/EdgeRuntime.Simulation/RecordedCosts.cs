using EdgeRuntime.Bundles;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;

namespace EdgeRuntime.Simulation;

/// <summary>
/// Each variant's latency on the simulated board from figures written down, never from a fresh measurement, so the
/// same scenario and seed give the same outcome on any machine: first the bundle manifest's costs recorded for the
/// board (<c>edgert bench --record BOARD</c>), then the board profile's per-variant cost table, then the board's
/// cost model (the variant's MACs and precision at the board's published throughput).
/// </summary>
public static class RecordedCosts
{
    public const string FromManifest = "bundle manifest";
    public const string FromProfile = "profile";
    public const string FromBoardModel = "board cost model";

    /// <returns>Variants in board milliseconds at full clock, and per variant where its figure came from.</returns>
    public static (List<SimulatedVariant> Variants, Dictionary<string, string> Sources) Resolve(
        BundleManifest manifest, BoardDescriptor board, GovernorProfile profile, IEnumerable<string>? onlyVariants = null)
    {
        var wanted = onlyVariants?.ToHashSet(StringComparer.Ordinal);
        var variants = new List<SimulatedVariant>();
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var variant in manifest.Variants)
        {
            if (wanted is not null && !wanted.Contains(variant.Id))
            {
                continue;
            }
            double quality = AdaptiveController.QualityOf(variant);
            if (variant.Costs.TryGetValue(board.Id, out var recorded) && recorded.LatencyP50Ms > 0)
            {
                variants.Add(new SimulatedVariant(variant.Id, quality, recorded.LatencyP50Ms, Math.Max(recorded.LatencyP95Ms, recorded.LatencyP50Ms)));
                sources[variant.Id] = FromManifest;
            }
            else if (profile.Variants.TryGetValue(variant.Id, out var listed) && listed.LatencyP50Ms > 0)
            {
                variants.Add(new SimulatedVariant(variant.Id, quality, listed.LatencyP50Ms, Math.Max(listed.LatencyP95Ms, listed.LatencyP50Ms)));
                sources[variant.Id] = FromProfile;
            }
            else if (board.Simulation?.Costs is { } model && variant.Macs is long macs && macs > 0)
            {
                double median = model.MedianMs(macs, variant.Precision);
                variants.Add(new SimulatedVariant(variant.Id, quality, median, median * model.P95OverP50));
                sources[variant.Id] = FromBoardModel;
            }
            else
            {
                missing.Add(variant.Id);
            }
        }
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"no recorded cost on '{board.Id}' for {string.Join(", ", missing)}: record them (edgert bench BUNDLE --record {board.Id}), list them in the " +
                $"profile's variants table, give the board a simulation.costs model (needs the variants' MAC counts in the manifest), or measure here with --measure");
        }
        return (variants, sources);
    }

    /// <summary>
    /// The thread model with the execution-setting costs recorded in a manifest (<c>bench-knobs --record</c>): the board's own
    /// device class first, else the first class that has them (named in <see cref="SimulatedThreads.Source"/>, since threads and
    /// spinning were then measured on other hardware); the reference variant's before the others'. Unchanged when none are recorded.
    /// </summary>
    public static SimulatedThreads ResolveThreads(SimulatedThreads threads, BundleManifest manifest, string boardId)
    {
        var variants = manifest.Variants.OrderBy(v => v.Id == manifest.ReferenceVariant ? 0 : 1).ToList();
        var classes = variants.SelectMany(v => v.Costs.Where(c => c.Value.Knobs is { Count: > 0 }).Select(c => c.Key)).ToList();
        if (classes.Count == 0)
        {
            return threads;
        }
        string deviceClass = classes.Contains(boardId) ? boardId : classes[0];
        string where = deviceClass == boardId ? $"recorded on {deviceClass}" : $"recorded on {deviceClass} (not on {boardId}; spin applied as the same wall time)";
        // Each variant with its own figures runs on them (a pruned or int8 variant parallelises differently); the rest take
        // the first recorded one's, the reference variant's when it has them.
        var recorded = variants.Select(v => (v.Id, Knobs: v.Costs.GetValueOrDefault(deviceClass)?.Knobs))
            .Where(r => r.Knobs is { Count: > 0 })
            .Select(r => (r.Id, Threads: threads.WithRecorded(r.Knobs!, $"knob costs of {manifest.Name}/{r.Id} {where}")))
            .ToList();
        var fallback = recorded[0].Threads;
        string source = recorded.Count == variants.Count ? $"{fallback.Source}; every variant on its own recorded figures"
            : $"{fallback.Source}; own figures for {recorded.Count} of {variants.Count} variants, the others take {recorded[0].Id}'s";
        return fallback with { ByVariant = recorded.ToDictionary(r => r.Id, r => r.Threads, StringComparer.Ordinal), Source = source };
    }
}
