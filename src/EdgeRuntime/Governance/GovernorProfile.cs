namespace EdgeRuntime.Governance;

/// <summary>
/// The policy and cost tables the governor uses on one class of device: written by hand at first, then
/// fitted from field telemetry. Stored as JSON in profiles/ (schema: profiles/profile.schema.json).
/// </summary>
public sealed record GovernorProfile
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    /// <summary>The board descriptor id this profile is for (raspberry-pi-4, jetson-orin-nano, ...).</summary>
    public required string DeviceClass { get; init; }
    /// <summary>Monotonic version; a device refuses to go back to an older one.</summary>
    public required long Version { get; init; }
    public required ProfileProvenance Provenance { get; init; }
    public GovernorPolicy Policy { get; init; } = new();
    public ThermalModel Thermal { get; init; } = new();
    /// <summary>Per-variant cost at full clock, keyed by variant id; variants not listed are predicted from measurements.</summary>
    public IReadOnlyDictionary<string, VariantCost> Variants { get; init; } = new Dictionary<string, VariantCost>();
}

/// <summary>Where a profile's numbers come from.</summary>
public sealed record ProfileProvenance
{
    /// <summary>"hand-written", "fleet-fit", ...</summary>
    public required string Source { get; init; }
    public DateTimeOffset CreatedUtc { get; init; }
    public string? DataWindow { get; init; }
    public int? Devices { get; init; }
    /// <summary>Fit error of the cost model (relative RMS), when fitted.</summary>
    public double? FitError { get; init; }
    public string? Notes { get; init; }
}

/// <summary>Decision rules. Temperatures in °C, times in seconds.</summary>
public sealed record GovernorPolicy
{
    /// <summary>p95 latency target when the app gives none; null: 3× the reference variant's p95 at full clock.</summary>
    public double? SloP95Ms { get; init; }
    /// <summary>How often the governor decides.</summary>
    public double TickSeconds { get; init; } = 0.5;
    /// <summary>Time since the last switch before switching to a heavier variant.</summary>
    public double DwellUpSeconds { get; init; } = 10;
    /// <summary>
    /// Plan for the highest arrival rate (2-s mean) seen within this many seconds, not only the last tick's: bursts
    /// that recur (a camera seeing motion) are served by a variant that fits them before they arrive. 0: the last tick's rate.
    /// </summary>
    public double RateMemorySeconds { get; init; }
    /// <summary>
    /// When a move up is undone by a move down within twice the dwell time, the dwell doubles, up to this; it returns to
    /// <see cref="DwellUpSeconds"/> after this long without such a reversal. Null: the dwell never grows.
    /// </summary>
    public double? MaxDwellUpSeconds { get; init; }
    /// <summary>A heavier variant must be predicted to use at most this share of the SLO.</summary>
    public double UpLatencyMargin { get; init; } = 0.7;
    /// <summary>Highest utilisation a variant may be predicted to need (queues grow without bound near 1).</summary>
    public double MaxUtilisation { get; init; } = 0.85;
    /// <summary>Predicted steady temperature a variant may reach: the board's throttle point minus this.</summary>
    public double ThermalMarginCelsius { get; init; } = 5;
    /// <summary>Extra margin a heavier variant must keep, so the choice does not oscillate.</summary>
    public double HysteresisCelsius { get; init; } = 3;
    /// <summary>
    /// On battery, serve so the remaining charge is projected to last at least this long at the measured draw (the
    /// battery's power reading, converted to charge by the drops of its percentage seen so far); when no variant
    /// lasts it, the most frugal one serves. Null: no such budget, only the tiers.
    /// </summary>
    public double? BatteryHorizonSeconds { get; init; }
    /// <summary>Limits while running on battery, lowest charge first.</summary>
    public IReadOnlyList<BatteryTier> BatteryTiers { get; init; } =
    [
        new BatteryTier { BelowPercent = 15, MaxEnergyRatio = 0.35 },
        new BatteryTier { BelowPercent = 40, MaxEnergyRatio = 0.6 },
    ];
}

/// <summary>Below this charge (and not charging), a variant may spend at most this share of the reference's energy per inference.</summary>
public sealed record BatteryTier
{
    public double BelowPercent { get; init; }
    public double MaxEnergyRatio { get; init; }
}

/// <summary>First-order thermal model of the board under load.</summary>
public sealed record ThermalModel
{
    /// <summary>Temperature at which the board starts to throttle.</summary>
    public double ThrottleCelsius { get; init; } = 80;
    /// <summary>Time constant of heating and cooling.</summary>
    public double TimeConstantSeconds { get; init; } = 120;
    /// <summary>Steady-state rise of temperature from idle to 100% busy.</summary>
    public double RiseAtFullLoadCelsius { get; init; } = 30;
    /// <summary>Horizon over which a rising temperature is extrapolated.</summary>
    public double PredictionHorizonSeconds { get; init; } = 30;
}

/// <summary>One variant's cost on this device class at full clock.</summary>
public sealed record VariantCost
{
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    /// <summary>Board power while this variant runs, if measured.</summary>
    public double? BusyPowerWatts { get; init; }
    public double? EnergyMillijoules { get; init; }
    /// <summary>
    /// The same variant's cost under each threads/spin setting, keyed by its code ("1", "all", "all+spin"; see
    /// <c>ExecutionKnobs.Code</c>), fitted from the telemetry logged under that setting. Only settings with enough
    /// samples are listed; null in hand-written profiles and older fits. The figures above cover all samples.
    /// </summary>
    public IReadOnlyDictionary<string, KnobSettingCost>? Knobs { get; init; }
}

/// <summary>One variant's cost under one threads/spin setting at full clock.</summary>
public sealed record KnobSettingCost
{
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    /// <summary>The serving process's CPU per inference (pool threads and their spinning included), if logged.</summary>
    public double? CpuMsPerInference { get; init; }
    public double? EnergyMillijoules { get; init; }
}
