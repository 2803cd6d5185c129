using EdgeRuntime.Devices;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Governance;

/// <summary>Why the governor chose what it chose; carried in status and telemetry.</summary>
public enum DecisionReason
{
    /// <summary>The first decision.</summary>
    Initial,
    /// <summary>The current variant still fits every constraint and nothing better may be taken yet.</summary>
    Steady,
    /// <summary>Moved to a more accurate variant that is predicted to fit with margin.</summary>
    Headroom,
    /// <summary>A better variant would fit, but the dwell time since the last switch has not passed.</summary>
    DwellHold,
    /// <summary>Measured p95 latency exceeded the SLO.</summary>
    SloBreach,
    /// <summary>Predicted p95 latency (at the current clock and load) would exceed the SLO.</summary>
    SloRisk,
    /// <summary>Predicted temperature would reach the throttle point.</summary>
    ThermalPredicted,
    /// <summary>The board is in the serious thermal state or reports throttling.</summary>
    ThermalSerious,
    /// <summary>The board is in the critical thermal state: the lightest variant.</summary>
    ThermalCritical,
    /// <summary>On battery below a tier: energy per inference is capped.</summary>
    BatteryTier,
    /// <summary>On battery, the remaining charge is projected not to last the profile's horizon at this variant's draw.</summary>
    BatteryBudget,
    /// <summary>The app's quality floor rules out lighter variants.</summary>
    QualityFloor,
    /// <summary>Temperature is unknown or stale: no move to a heavier variant.</summary>
    SensorsUnknown,
    /// <summary>No variant meets every constraint: the lightest one serves.</summary>
    NoVariantFits,
}

public enum RequestPriority
{
    Foreground,
    /// <summary>Latency matters less than energy and heat: the governor prefers lighter variants.</summary>
    Background,
}

/// <summary>What the app asks for; null fields leave the profile's defaults.</summary>
public sealed record GovernorHints
{
    public double? SloP95Ms { get; init; }
    /// <summary>Lowest acceptable quality (the manifest's quality value, e.g. top-1 0.9).</summary>
    public double? QualityFloor { get; init; }
    public RequestPriority Priority { get; init; } = RequestPriority.Foreground;
}

/// <summary>The governor's view of one variant: its quality and, when known, its cost at full clock.</summary>
public sealed record VariantOption(string Id, double Quality, VariantCost? Cost);

/// <summary>What one tick sees.</summary>
public sealed record GovernorInput
{
    /// <summary>The board's readings; null when the runtime runs without a device monitor (no thermal policy).</summary>
    public DeviceSnapshot? Device { get; init; }
    /// <summary>Latency observed per variant by the runtime.</summary>
    public IReadOnlyDictionary<string, LatencySnapshot> Observed { get; init; } = new Dictionary<string, LatencySnapshot>();
    /// <summary>Requests per second lately.</summary>
    public double ArrivalRatePerSecond { get; init; }
    public GovernorHints Hints { get; init; } = new();
}

/// <summary>One decision with its reason and the figures behind it.</summary>
public sealed record GovernorDecision(
    DateTimeOffset At,
    string Variant,
    string Previous,
    DecisionReason Reason,
    string Detail)
{
    public bool Switched => Variant != Previous;
    public double? TemperatureCelsius { get; init; }
    /// <summary>Temperature predicted at the profile's horizon on the chosen variant.</summary>
    public double? PredictedCelsius { get; init; }
    public double? PredictedP95Ms { get; init; }
    public double? SloP95Ms { get; init; }
    /// <summary>Threads and spinning chosen with the variant, when the governor sets them.</summary>
    public KnobDecision? Knobs { get; init; }
}
