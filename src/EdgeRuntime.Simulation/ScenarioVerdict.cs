namespace EdgeRuntime.Simulation;

/// <summary>
/// What a run shows about adaptation: the best static variant that keeps the SLO, the static variants at least as good
/// as adaptive on both SLO attainment and quality without throttling longer, those that match it on both only by
/// throttling longer (named apart, with their throttled seconds), and adaptive's quality gain in units of the ladder's
/// quality span.
/// </summary>
public sealed record ScenarioVerdict(
    PolicyOutcome Adaptive,
    PolicyOutcome? BestStaticKeepingSlo,
    IReadOnlyList<string> StaticsKeepingSlo,
    IReadOnlyList<string> StaticsAtLeastAsGood,
    double QualitySpan,
    double? GainOverBestStatic)
{
    /// <summary>Static variants as good on SLO and quality that throttle longer than adaptive: the board pays for their figures.</summary>
    public IReadOnlyList<PolicyOutcome> StaticsAsGoodOnlyByThrottling { get; init; } = [];

    /// <summary>Share of 1-s windows a policy must meet to "keep" the SLO.</summary>
    public const double KeepsSlo = 0.99;

    /// <summary>Adaptive's gain over the best static keeping the SLO, as a share of the span (null when no static keeps it).</summary>
    public double? GainInSpans => GainOverBestStatic is double gain && QualitySpan > 0 ? gain / QualitySpan : null;

    public static ScenarioVerdict Of(SimulationReport report)
    {
        var adaptive = report.Outcomes.Single(o => o.Policy == AdaptiveSimulation.AdaptivePolicy);
        var statics = report.Outcomes.Where(o => o.Policy != AdaptiveSimulation.AdaptivePolicy).ToList();
        var keeping = statics.Where(o => o.SloAttainment >= KeepsSlo).ToList();
        var best = keeping.OrderByDescending(o => o.MeanQuality).ThenByDescending(o => o.SloAttainment).FirstOrDefault();
        var onBoth = statics.Where(o => o.SloAttainment >= adaptive.SloAttainment && o.MeanQuality >= adaptive.MeanQuality).ToList();
        var asGood = onBoth.Where(o => o.SecondsThrottled <= adaptive.SecondsThrottled).Select(o => o.Policy).ToList();
        double span = report.Variants.Count == 0 ? 0 : report.Variants.Max(v => v.Quality) - report.Variants.Min(v => v.Quality);
        return new ScenarioVerdict(adaptive, best, keeping.Select(o => o.Policy).ToList(), asGood, span,
            best is null ? null : adaptive.MeanQuality - best.MeanQuality)
        {
            StaticsAsGoodOnlyByThrottling = onBoth.Where(o => o.SecondsThrottled > adaptive.SecondsThrottled).ToList(),
        };
    }

    /// <summary>One line: what adaptive reached and against what.</summary>
    public string Summary(string name)
    {
        string against = BestStaticKeepingSlo is { } best
            ? $"best static keeping {KeepsSlo:P0} SLO: {best.Policy} at {best.MeanQuality:P2} ({GainOverBestStatic * 100:+0.00;-0.00} pt = {GainInSpans:+0.00;-0.00} of the {QualitySpan * 100:F2}-pt span)"
            : "no static variant keeps the SLO";
        string dominated = StaticsAtLeastAsGood.Count == 0
            ? "no static at least as good on both without throttling longer"
            : $"at least as good on both: {string.Join(", ", StaticsAtLeastAsGood)}";
        if (StaticsAsGoodOnlyByThrottling.Count > 0)
        {
            dominated += $" (as good on both only by throttling: {string.Join(", ", StaticsAsGoodOnlyByThrottling.Select(o => $"{o.Policy} {o.SecondsThrottled:F0} s"))})";
        }
        return $"{name}: adaptive SLO {Adaptive.SloAttainment:P2}, quality {Adaptive.MeanQuality:P2}, throttled {Adaptive.SecondsThrottled:F0} s, {Adaptive.Switches} switches; {against}; {dominated}";
    }
}
