using System.Globalization;
using EdgeRuntime.Governance;
using EdgeRuntime.Server.Domain;

namespace EdgeRuntime.Server.Governance;

/// <summary>The app hints (set-hints) the governor reads, and their checks. Other hints are only stored.</summary>
internal static class GovernorHintKeys
{
    public const string SloP95Ms = "slo_p95_ms";
    public const string QualityFloor = "quality_floor";
    public const string Priority = "priority";

    /// <summary>Checks the governor's hints among <paramref name="changes"/> (an empty value removes a hint and is always fine).</summary>
    /// <exception cref="RefusedException">InvalidRequest naming the hint and what it must be.</exception>
    public static void Validate(IReadOnlyDictionary<string, string> changes)
    {
        foreach (var (key, value) in changes)
        {
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }
            string? problem = key switch
            {
                SloP95Ms when !(TryNumber(value, out double slo) && slo > 0 && slo <= 3_600_000) => "a number of milliseconds above 0 (at most an hour)",
                QualityFloor when !(TryNumber(value, out double floor) && floor >= 0) => "a number of at least 0 (the manifest's quality value, e.g. 0.9)",
                Priority when TryPriority(value) is null => "\"foreground\" or \"background\"",
                _ => null,
            };
            if (problem is not null)
            {
                throw new RefusedException(Refusal.InvalidRequest, $"set-hints: '{key}' must be {problem}, not '{value}'");
            }
        }
    }

    /// <summary>The governor's view of the hints now set; hints left out keep the profile's defaults.</summary>
    public static GovernorHints From(IReadOnlyDictionary<string, string> hints) => new()
    {
        SloP95Ms = hints.TryGetValue(SloP95Ms, out string? slo) && TryNumber(slo, out double sloMs) ? sloMs : null,
        QualityFloor = hints.TryGetValue(QualityFloor, out string? floor) && TryNumber(floor, out double quality) ? quality : null,
        Priority = hints.TryGetValue(Priority, out string? priority) ? TryPriority(priority) ?? RequestPriority.Foreground : RequestPriority.Foreground,
    };

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static RequestPriority? TryPriority(string text) => text.ToLowerInvariant() switch
    {
        "foreground" => RequestPriority.Foreground,
        "background" => RequestPriority.Background,
        _ => null,
    };
}
