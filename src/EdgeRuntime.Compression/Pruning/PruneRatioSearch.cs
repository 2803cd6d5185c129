using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Pruning;

public sealed record RatioSearchOptions
{
    /// <summary>MACs the pruned model may keep, as a fraction of the original's.</summary>
    public double MacTarget { get; init; } = 0.5;
    /// <summary>Ratios each channel group can take.</summary>
    public IReadOnlyList<double> Candidates { get; init; } = [0.25, 0.5, 0.75];
    /// <summary>Calibration samples for the sensitivity measurements.</summary>
    public int SensitivitySamples { get; init; } = 256;

    public void Validate()
    {
        if (MacTarget is <= 0 or >= 1)
        {
            throw new ArgumentException($"the MAC target must be a fraction in (0, 1), got {MacTarget}");
        }
        if (Candidates.Count == 0 || Candidates.Any(c => c is <= 0 or >= 1))
        {
            throw new ArgumentException("candidate ratios must be fractions in (0, 1)");
        }
    }
}

/// <summary>Sensitivity of one channel group pruned alone at one ratio.</summary>
public sealed record GroupSensitivity(string Group, double Ratio, double Error, long MacsSaved);

public sealed record RatioSearchResult(IReadOnlyDictionary<string, double> GroupRatios, long OriginalMacs, long PredictedMacs, IReadOnlyList<GroupSensitivity> Sensitivities);

/// <summary>
/// Per-layer pruning ratios under a MAC budget (the source article's constrained view: least loss subject
/// to a compute limit): each channel group is pruned alone at each candidate ratio, with reconstruction,
/// and its output error measured on calibration data (sensitivity by perturbation); then ratios are raised
/// greedily where they cost the least error per MAC saved until the budget holds.
/// </summary>
public static class PruneRatioSearch
{
    public static RatioSearchResult Search(OnnxModel model, CalibrationData data, RatioSearchOptions? options = null, StructuredPruneOptions? pruning = null, Action<string>? log = null)
    {
        options ??= new RatioSearchOptions();
        options.Validate();
        pruning ??= new StructuredPruneOptions();
        var working = model.Clone();
        working.Graph.ConvertConstantNodes();
        long original = MacCounter.Count(working).TotalMacs;
        var groups = ChannelDependencyGraph.Analyze(working).Prunable.Select(g => g.Producers[0].Name).ToList();
        if (groups.Count == 0)
        {
            throw new NotSupportedException("the model has no channel group that can be pruned safely");
        }
        var batches = data.Batches().Take(Math.Max(1, options.SensitivitySamples / 32)).Select(b => b.Select(Copy).ToArray()).ToList();
        var reference = ScratchRuntime.FloatOutputs(working, batches);

        var table = new List<GroupSensitivity>();
        foreach (string group in groups)
        {
            foreach (double ratio in options.Candidates.Order())
            {
                var pruned = StructuredPruner.Prune(working, pruning with { Ratio = 0, GroupRatios = new Dictionary<string, double> { [group] = ratio } }, data);
                double error = StaticInt8Quantizer.RelativeError(reference, ScratchRuntime.FloatOutputs(pruned.Model, batches));
                long saved = original - MacCounter.Count(pruned.Model).TotalMacs;
                table.Add(new GroupSensitivity(group, ratio, error, saved));
                log?.Invoke($"  {group} at {ratio:P0}: relative output error {error:G3}, saves {saved:N0} MACs");
            }
        }

        // Greedy: the next step of any group with the least added error per MAC saved.
        var chosen = groups.ToDictionary(g => g, _ => 0.0);
        long predicted = original;
        long target = (long)(options.MacTarget * original);
        while (predicted > target)
        {
            GroupSensitivity? best = null;
            double bestCost = double.PositiveInfinity;
            long bestSaving = 0;
            foreach (string group in groups)
            {
                var current = table.FirstOrDefault(t => t.Group == group && t.Ratio == chosen[group]);
                var next = table.Where(t => t.Group == group && t.Ratio > chosen[group]).OrderBy(t => t.Ratio).FirstOrDefault();
                if (next is null)
                {
                    continue;
                }
                long saving = next.MacsSaved - (current?.MacsSaved ?? 0);
                double cost = (next.Error - (current?.Error ?? 0)) / Math.Max(1, saving);
                if (saving > 0 && cost < bestCost)
                {
                    (best, bestCost, bestSaving) = (next, cost, saving);
                }
            }
            if (best is null)
            {
                log?.Invoke($"every group is at its largest ratio; {predicted:N0} MACs remain above the target {target:N0}");
                break;
            }
            chosen[best.Group] = best.Ratio;
            predicted -= bestSaving;
        }
        return new RatioSearchResult(chosen.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value), original, predicted, table);
    }

    private static NamedTensor Copy(NamedTensor tensor) => new(tensor.Name, tensor.ElementType, tensor.Shape, tensor.Data.ToArray());
}
