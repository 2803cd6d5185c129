using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Pruning;

public sealed record RatioSearchOptions
{
    /// <summary>MACs the pruned model may keep, as a fraction of the original's (unless <see cref="LatencyTarget"/> is set).</summary>
    public double MacTarget { get; init; } = 0.5;
    /// <summary>Latency the pruned model may keep, as a fraction of the original's on this device; needs <see cref="LatencyTable"/>.</summary>
    public double? LatencyTarget { get; init; }
    /// <summary>
    /// Channels the pruned model may keep, as a fraction of all channels of its layers (blocked groups count
    /// as kept, as in <see cref="PruneResult.ChannelsKept"/>); overrides <see cref="MacTarget"/>.
    /// </summary>
    public double? ChannelTarget { get; init; }
    /// <summary>Measured latency of each group at each candidate ratio (<see cref="PruneLatencyTable"/>).</summary>
    public PruneLatencyTable? LatencyTable { get; init; }
    /// <summary>Ratios each channel group can take.</summary>
    public IReadOnlyList<double> Candidates { get; init; } = [0.25, 0.5, 0.75];
    /// <summary>Calibration samples for the sensitivity measurements.</summary>
    public int SensitivitySamples { get; init; } = 256;

    public void Validate()
    {
        if (LatencyTarget is double latency)
        {
            if (latency is <= 0 or >= 1 || double.IsNaN(latency))
            {
                throw new ArgumentException($"the latency target must be a fraction in (0, 1), got {latency}");
            }
            if (LatencyTable is null)
            {
                throw new ArgumentException("a latency target needs a latency table measured on this device");
            }
        }
        else if (ChannelTarget is double channels)
        {
            if (channels is <= 0 or >= 1 || double.IsNaN(channels))
            {
                throw new ArgumentException($"the channel target must be a fraction in (0, 1), got {channels}");
            }
        }
        else if (MacTarget is <= 0 or >= 1 || double.IsNaN(MacTarget))
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

/// <param name="PredictedLatency">With a latency target: the latency fraction the table predicts for the chosen ratios.</param>
public sealed record RatioSearchResult(IReadOnlyDictionary<string, double> GroupRatios, long OriginalMacs, long PredictedMacs, IReadOnlyList<GroupSensitivity> Sensitivities)
{
    public double? PredictedLatency { get; init; }
}

/// <summary>
/// Per-layer pruning ratios under a MAC, latency or channel budget (least loss subject to a limit): each
/// channel group is pruned alone at each candidate ratio, with reconstruction, and its output error measured
/// on calibration data (sensitivity by perturbation); then ratios are raised greedily where they cost the
/// least error per MAC saved, per unit of latency saved as measured in a <see cref="PruneLatencyTable"/>,
/// or per channel removed, until the budget holds.
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
        var analysis = ChannelDependencyGraph.Analyze(working);
        var groups = analysis.Prunable.Select(g => g.Producers[0].Name).ToList();
        if (groups.Count == 0)
        {
            throw new NotSupportedException("the model has no channel group that can be pruned safely");
        }
        var channelsOf = analysis.Prunable.ToDictionary(g => g.Producers[0].Name, g => g.Channels);
        int totalChannels = analysis.Groups.Sum(g => g.Channels);
        var batches = data.Batches().Take(Math.Max(1, options.SensitivitySamples / 32)).Select(b => b.Select(Copy).ToArray()).ToList();
        var reference = ScratchRuntime.FloatOutputs(working, batches);

        var table = new List<GroupSensitivity>();
        // The sensitivity of one group only ranks groups against each other; the final refit of every layer below is left to the real pruning.
        var probe = pruning with { Ratio = 0, RefitDownstream = false };
        foreach (string group in groups)
        {
            foreach (double ratio in options.Candidates.Order())
            {
                var pruned = StructuredPruner.Prune(working, probe with { GroupRatios = new Dictionary<string, double> { [group] = ratio } }, data);
                double error = StaticInt8Quantizer.RelativeError(reference, ScratchRuntime.FloatOutputs(pruned.Model, batches));
                long saved = original - MacCounter.Count(pruned.Model).TotalMacs;
                table.Add(new GroupSensitivity(group, ratio, error, saved));
                string latency = options.LatencyTable is { } lut && options.LatencyTarget is not null ? $", latency {lut.Fraction(group, ratio):P1} of the model's" : "";
                log?.Invoke($"  {group} at {ratio:P0}: relative output error {error:G3}, saves {saved:N0} MACs{latency}");
            }
        }

        // Budget in the units of the target: the latency table's fraction of the unpruned latency, channels, or MACs.
        Func<GroupSensitivity, double> saving;
        double budget;
        if (options.LatencyTarget is double latencyTarget)
        {
            saving = s => 1 - options.LatencyTable!.Fraction(s.Group, s.Ratio);
            budget = 1 - latencyTarget;
        }
        else if (options.ChannelTarget is double channelTarget)
        {
            saving = s => channelsOf[s.Group] - StructuredPruner.KeptChannels(channelsOf[s.Group], s.Ratio, pruning.MinChannels, pruning.RoundTo);
            budget = (1 - channelTarget) * totalChannels;
        }
        else
        {
            saving = s => s.MacsSaved;
            budget = (1 - options.MacTarget) * original;
        }
        var chosen = Greedy(groups, table, saving, budget, log);
        long predictedMacs = original - chosen.Sum(p => table.FirstOrDefault(t => t.Group == p.Key && t.Ratio == p.Value)?.MacsSaved ?? 0);
        var ratios = chosen.Where(p => p.Value > 0).ToDictionary(p => p.Key, p => p.Value);
        return new RatioSearchResult(ratios, original, predictedMacs, table)
        {
            PredictedLatency = options.LatencyTarget is not null ? options.LatencyTable!.Predict(ratios) : null,
        };
    }

    /// <summary>Raises, step by step, the ratio of the group whose next step adds the least error per unit saved, until the savings reach the budget.</summary>
    private static Dictionary<string, double> Greedy(IReadOnlyList<string> groups, List<GroupSensitivity> table, Func<GroupSensitivity, double> saving, double budget, Action<string>? log)
    {
        var chosen = groups.ToDictionary(g => g, _ => 0.0);
        double saved = 0;
        while (saved < budget)
        {
            GroupSensitivity? best = null;
            double bestCost = double.PositiveInfinity, bestSaving = 0;
            foreach (string group in groups)
            {
                var current = table.FirstOrDefault(t => t.Group == group && t.Ratio == chosen[group]);
                double currentSaving = current is null ? 0 : saving(current);
                // The next step that saves more than now (a noisy table may show a larger ratio saving less).
                foreach (var next in table.Where(t => t.Group == group && t.Ratio > chosen[group]).OrderBy(t => t.Ratio))
                {
                    double step = saving(next) - currentSaving;
                    if (step <= 0)
                    {
                        continue;
                    }
                    double cost = Math.Max(0, next.Error - (current?.Error ?? 0)) / step;
                    if (cost < bestCost)
                    {
                        (best, bestCost, bestSaving) = (next, cost, step);
                    }
                    break;
                }
            }
            if (best is null)
            {
                log?.Invoke($"no group can save more; the savings reach {saved:G4} of the {budget:G4} needed");
                break;
            }
            chosen[best.Group] = best.Ratio;
            saved += bestSaving;
        }
        return chosen;
    }

    private static NamedTensor Copy(NamedTensor tensor) => new(tensor.Name, tensor.ElementType, tensor.Shape, tensor.Data.ToArray());
}
