using EdgeRuntime.Governance;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Simulation;

/// <summary>One variant as the simulation sees it: quality from the bundle, latency measured on this machine.</summary>
public sealed record SimulatedVariant(string Id, double Quality, double MeasuredP50Ms, double MeasuredP95Ms);

public sealed record SimulationOptions
{
    public string Board { get; init; } = "raspberry-pi-4";
    /// <summary>Request rate as the share of time the reference variant would be busy at full clock on the board.</summary>
    public double Load { get; init; } = 0.8;
    /// <summary>A fixed request rate instead of <see cref="Load"/>.</summary>
    public double? RatePerSecond { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>p95 target; null: <see cref="DefaultSloFactor"/> × the reference's median latency on the board at full clock.</summary>
    public double? SloP95Ms { get; init; }
    public double? BoardSlowdown { get; init; }
    public double? AmbientCelsius { get; init; }
    public int Seed { get; init; } = 1;
    /// <summary>Board time per simulation step.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>Start on battery instead of mains power.</summary>
    public bool OnBattery { get; init; }
    /// <summary>Also run every variant alone for comparison; off when only the adaptive run is wanted (a fleet of boards).</summary>
    public bool StaticBaselines { get; init; } = true;
    /// <summary>
    /// How much slower than the assumed board speed (<see cref="BoardSlowdown"/>) this board really runs each variant;
    /// 1 where not listed. The governor is not told: it learns true costs only through a profile (fleet fitting).
    /// </summary>
    public IReadOnlyDictionary<string, double> TrueCostFactors { get; init; } = new Dictionary<string, double>();
    /// <summary>
    /// A time-varying run: its segments set load or rate, ambient, power, battery and fan over time; its duration,
    /// seed and SLO (when given) replace <see cref="Duration"/>, <see cref="Seed"/> and <see cref="SloP95Ms"/>.
    /// </summary>
    public Scenario? Scenario { get; init; }
    /// <summary>Service times are board figures (recorded costs) already: no slowdown is applied.</summary>
    public bool CostsAreBoardFigures { get; init; }

    /// <summary>
    /// Model intra-op threads: null keeps one inference occupying the whole CPU. Set, variant costs are taken as runs on
    /// all cores (what static variants use); a run on one thread takes longer by the parallel speed-up it gives up and
    /// keeps one core of the board's busy instead of all, and the active cores drive power and heat. The adaptive run
    /// lets <see cref="ExecutionKnobPolicy"/> choose threads with each decision.
    /// </summary>
    public SimulatedThreads? Threads { get; init; }

    /// <summary>At 80% load an M/M/1 queue's p95 response is about 15 service times; 10 leaves room only for a lighter variant.</summary>
    public const double DefaultSloFactor = 10;

    public void Validate()
    {
        if (Load is <= 0 or > 2)
        {
            throw new ArgumentException($"load must be in (0, 2], got {Load}");
        }
        if (RatePerSecond is <= 0)
        {
            throw new ArgumentException($"rate must be positive, got {RatePerSecond}");
        }
        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromDays(2))
        {
            throw new ArgumentException($"duration must be positive and at most two days, got {Duration}");
        }
        if (Step <= TimeSpan.Zero || Step > TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"step must be in (0, 1 s], got {Step}");
        }
        foreach (var (variant, factor) in TrueCostFactors)
        {
            if (!(factor is > 0 and <= 100))
            {
                throw new ArgumentException($"true cost factor of '{variant}' must be in (0, 100], got {factor}");
            }
        }
    }
}

/// <summary>How the simulated board runs one inference on several cores, and what ONNX Runtime's spinning pool threads burn after it.</summary>
public sealed record SimulatedThreads
{
    /// <summary>Speed-up each extra core adds (1: perfect scaling); ONNX Runtime on small boards: 0.6–0.8.</summary>
    public double ParallelEfficiency { get; init; } = 0.7;

    /// <summary>
    /// Wall time each spinning pool thread stays busy after a run before it sleeps (it stops sooner when the next run
    /// comes): the measured CPU of the spinning setting less the non-spinning one, per pool thread beside the caller.
    /// 0: spinning is not modelled (no measurement), and static variants run on all cores without it.
    /// </summary>
    public double SpinWindowMs { get; init; }

    /// <summary>CPU of a run on all threads over a run on one (measured); null: every core is busy for the whole run.</summary>
    public double? AllThreadsCpuRatio { get; init; }

    /// <summary>Where the figures came from (for the report).</summary>
    public string Source { get; init; } = "assumed parallel efficiency 0.7, spinning not modelled";

    /// <summary>A bundle whose manifest holds the knob costs to use instead of the simulated bundle's own.</summary>
    public string? KnobCostsBundle { get; init; }

    /// <summary>Variants whose own execution settings were recorded, with the figures from them; the others take this record's.</summary>
    public IReadOnlyDictionary<string, SimulatedThreads>? ByVariant { get; init; }

    /// <summary>The figures a variant runs with: its own where recorded.</summary>
    public SimulatedThreads For(string variant) => ByVariant is not null && ByVariant.TryGetValue(variant, out var own) ? own : this;

    /// <summary>How much longer a run takes on one thread than on all <paramref name="cores"/>.</summary>
    public double SingleThreadSlowdown(int cores) => 1 + (Math.Max(1, cores) - 1) * ParallelEfficiency;

    /// <summary>What a static variant runs with: ONNX Runtime's default, all cores, spinning when spinning is modelled.</summary>
    public ExecutionKnobs StaticKnobs => ExecutionKnobs.AllThreads(spin: SpinWindowMs > 0);

    /// <summary>Share of the board's cores a run on these knobs keeps active while it runs.</summary>
    public double ActiveCoreShare(ExecutionKnobs knobs, int cores)
    {
        cores = Math.Max(1, cores);
        if (knobs.IsSingleThread)
        {
            return 1.0 / cores;
        }
        return AllThreadsCpuRatio is double ratio ? Math.Clamp(ratio * SingleThreadSlowdown(cores) / cores, 1.0 / cores, 1) : 1;
    }

    /// <summary>
    /// The figures recorded for one variant's execution settings (<c>bench-knobs --record</c>): the parallel efficiency from the
    /// one-thread and all-thread latencies, the all-thread CPU ratio, and the spin window from the spinning setting's extra CPU.
    /// </summary>
    /// <exception cref="ArgumentException">A figure is not a finite positive number, or "1" or "all" is missing.</exception>
    public SimulatedThreads WithRecorded(IReadOnlyDictionary<string, EdgeRuntime.Bundles.KnobCost> knobs, string source)
    {
        var one = Require(knobs, "1");
        var all = Require(knobs, "all");
        int threads = Math.Max(1, all.Threads);
        double efficiency = threads > 1 ? Math.Clamp((one.LatencyP50Ms / all.LatencyP50Ms - 1) / (threads - 1), 0, 1) : ParallelEfficiency;
        double spinWindow = 0;
        if (knobs.TryGetValue("all+spin", out var spin))
        {
            Check(spin, "all+spin");
            spinWindow = threads > 1 ? Math.Max(0, spin.CpuMsPerInference - all.CpuMsPerInference) / (threads - 1) : 0;
        }
        return this with
        {
            ParallelEfficiency = efficiency,
            AllThreadsCpuRatio = all.CpuMsPerInference / one.CpuMsPerInference,
            SpinWindowMs = spinWindow,
            Source = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{source}: parallel efficiency {efficiency:0.##}, all-thread CPU {all.CpuMsPerInference / one.CpuMsPerInference:0.##}x one thread's, spin {spinWindow:0.#} ms per pool thread after each run"),
        };
    }

    private static EdgeRuntime.Bundles.KnobCost Require(IReadOnlyDictionary<string, EdgeRuntime.Bundles.KnobCost> knobs, string code) =>
        knobs.TryGetValue(code, out var cost) ? Check(cost, code) : throw new ArgumentException($"recorded knob costs lack setting '{code}' (have: {string.Join(", ", knobs.Keys)})");

    private static EdgeRuntime.Bundles.KnobCost Check(EdgeRuntime.Bundles.KnobCost cost, string code) =>
        double.IsFinite(cost.LatencyP50Ms) && cost.LatencyP50Ms > 0 && double.IsFinite(cost.CpuMsPerInference) && cost.CpuMsPerInference > 0
            ? cost
            : throw new ArgumentException($"recorded knob cost '{code}' needs a positive latency_p50_ms and cpu_ms_per_inference, got {cost.LatencyP50Ms} and {cost.CpuMsPerInference}");
}

/// <summary>One policy's outcome over the run.</summary>
public sealed record PolicyOutcome(
    string Policy,
    long Requests,
    long Completed,
    double SloAttainment,
    double MeanQuality,
    double P95Ms,
    double MaxCelsius,
    double SecondsThrottled,
    double EnergyPerInferenceMillijoules,
    double? BatteryHoursAtThisLoad,
    int Switches,
    IReadOnlyDictionary<string, double> ShareByVariant)
{
    /// <summary>Requests that arrived while the board was off (battery empty): never served.</summary>
    public long Dropped { get; init; }
    /// <summary>Seconds the board was off.</summary>
    public double SecondsOff { get; init; }
    /// <summary>Share of completed requests run on one thread (with the thread model; 0 otherwise).</summary>
    public double SingleThreadShare { get; init; }
}

/// <summary>
/// What one variant did over one trace window of the adaptive run: service time (the variant's own run time) apart
/// from queue wait, with the clock and temperature the requests ran at. What the device's telemetry summarises.
/// </summary>
public sealed record ServiceWindow(
    double EndSeconds,
    double WindowSeconds,
    string Variant,
    long Count,
    double ServiceMeanMs,
    double ServiceP95Ms,
    double QueueWaitMeanMs,
    double ResponseMeanMs,
    double ResponseP95Ms,
    double FrequencyMhz,
    double Celsius);

/// <summary>A sample of the board and the policy's choice, for plots.</summary>
public sealed record TracePoint(double Seconds, double Celsius, double FrequencyMhz, double Utilisation, string Variant, double WindowP95Ms)
{
    /// <summary>Arrival rate over the trace window (requests/s).</summary>
    public double RatePerSecond { get; init; }
    public double AmbientCelsius { get; init; }
    public double? BatteryPercent { get; init; }
    public bool ExternalPower { get; init; } = true;
}

public sealed record SimulationReport(
    string Board,
    double BoardSlowdown,
    double RatePerSecond,
    double SloP95Ms,
    double DurationSeconds,
    IReadOnlyList<SimulatedVariant> Variants,
    IReadOnlyList<PolicyOutcome> Outcomes)
{
    public IReadOnlyDictionary<string, IReadOnlyList<TracePoint>> Traces { get; init; } = new Dictionary<string, IReadOnlyList<TracePoint>>();
    public IReadOnlyList<GovernorDecision> AdaptiveSwitches { get; init; } = [];
    /// <summary>Per trace window and variant, the adaptive run's service and response times (its telemetry).</summary>
    public IReadOnlyList<ServiceWindow> AdaptiveServiceWindows { get; init; } = [];
    /// <summary>The scenario's name, when the run followed one.</summary>
    public string? Scenario { get; init; }
    /// <summary>Where each variant's service time came from (manifest, profile, board cost model, measured here).</summary>
    public IReadOnlyDictionary<string, string> CostSources { get; init; } = new Dictionary<string, string>();
}
