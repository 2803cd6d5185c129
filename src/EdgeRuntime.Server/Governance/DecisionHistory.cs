using System.Globalization;
using EdgeRuntime.Governance;
using EdgeRuntime.Server.Domain;

namespace EdgeRuntime.Server.Governance;

/// <summary>
/// The governor's recent decisions for one model. It decides every tick, so a run of identical holds is folded
/// into one entry with a count: the history then shows what changed, not hundreds of "Steady". Not thread-safe;
/// the model host guards it.
/// </summary>
internal sealed class DecisionHistory(int capacity = 16)
{
    private readonly List<Entry> _entries = [];

    public void Add(GovernorDecision decision)
    {
        if (_entries.Count > 0 && _entries[^1] is { } last && !decision.Switched && !last.Latest.Switched
            && last.Latest.Reason == decision.Reason && last.Latest.Variant == decision.Variant
            && last.Latest.Knobs?.Knobs == decision.Knobs?.Knobs && last.Latest.Knobs?.Reason == decision.Knobs?.Reason)
        {
            last.Latest = decision;
            last.Count++;
            return;
        }
        _entries.Add(new Entry(decision));
        if (_entries.Count > capacity)
        {
            _entries.RemoveAt(0);
        }
    }

    /// <summary>The entries, newest first.</summary>
    public DecisionEntry[] Entries() => [.. Enumerable.Reverse(_entries).Select(e => new DecisionEntry(e.Latest, e.First.At, e.Count))];

    /// <summary>One line per entry, newest first: the "reasons" of a model's status.</summary>
    public string[] Reasons(int max = 6) => [.. Enumerable.Reverse(_entries).Take(max).Select(e => Describe(e.Latest, e.Count, e.First.At))];

    public static string Describe(GovernorDecision decision, long count = 1, DateTimeOffset? firstAt = null)
    {
        string knobs = decision.Knobs is { } k ? $"; threads {k.Knobs.Code} ({k.Reason}: {k.Detail})" : "";
        if (decision.Switched)
        {
            return $"{decision.Reason}: {decision.Previous} -> {decision.Variant} at {Time(decision.At)}: {decision.Detail}{knobs}";
        }
        string run = count > 1 ? $" ({count} decisions since {Time(firstAt ?? decision.At)})" : "";
        return $"{decision.Reason}: {decision.Variant} stays at {Time(decision.At)}{run}: {decision.Detail}{knobs}";
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private sealed class Entry(GovernorDecision first)
    {
        public GovernorDecision First { get; } = first;
        public GovernorDecision Latest { get; set; } = first;
        public long Count { get; set; } = 1;
    }
}
