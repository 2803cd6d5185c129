using EdgeRuntime.Bundles;
using EdgeRuntime.Devices;
using EdgeRuntime.Inference;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Governance;

/// <summary>
/// The one driver of the governor against a live runtime: every tick it reads the device, asks the governor,
/// switches the runtime when told to, and keeps the next lighter variant warm so a step down drops nothing.
/// <see cref="Tick"/> returns what actually happened; the daemon calls it from its device loop, an in-process
/// user lets <see cref="Start"/> call it on the profile's interval.
/// </summary>
public sealed class AdaptiveController : IDisposable
{
    private readonly ModelRuntime _runtime;
    private readonly IDeviceMonitor? _monitor;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Queue<GovernorDecision> _recent = new();
    private ITimer? _timer;
    private long _lastCount;
    private long _lastTick;
    private volatile GovernorHints _hints = new();

    public AdaptiveController(ModelRuntime runtime, ProfileStore profiles, IDeviceMonitor? monitor, TimeProvider? time = null, ILogger? logger = null)
    {
        _runtime = runtime;
        _monitor = monitor;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Profiles = profiles;
        var serving = runtime.GetStatus().Where(s => s.State != VariantState.Unavailable).Select(s => s.Manifest).ToList();
        Governor = new Governor(OptionsFor(serving, profiles.Current.DeviceClass), profiles, _time, runtime.CurrentVariant);
        _lastTick = _time.GetTimestamp();
        KnobPolicy = new ExecutionKnobPolicy(_time);
        KnobPolicy.Follow(runtime.Knobs);
    }

    public Governor Governor { get; }

    /// <summary>Chooses threads and spinning with each decision; null when they are fixed by configuration.</summary>
    public ExecutionKnobPolicy? KnobPolicy { get; set; }
    public ProfileStore Profiles { get; }
    public DeviceSnapshot? LastSnapshot { get; private set; }

    public GovernorHints Hints
    {
        get => _hints;
        set => _hints = value ?? new GovernorHints();
    }

    /// <summary>The last decisions, newest last.</summary>
    public IReadOnlyList<GovernorDecision> RecentDecisions
    {
        get
        {
            lock (_gate)
            {
                return [.. _recent];
            }
        }
    }

    /// <summary>Ticks on the profile's interval until disposed.</summary>
    public void Start()
    {
        var period = TimeSpan.FromSeconds(Profiles.Current.Policy.TickSeconds);
        _timer = _time.CreateTimer(_ => SafeTick(), null, period, period);
    }

    /// <summary>
    /// One decision now (the timer calls this; the daemon and simulations call it in their own time). When the chosen
    /// variant cannot be loaded the decision returned says so and names the variant that keeps serving.
    /// </summary>
    public GovernorDecision Tick()
    {
        var snapshot = _monitor?.Read();
        LastSnapshot = snapshot;
        var status = _runtime.GetStatus();
        long count = status.Sum(s => s.Latency.TotalCount);
        long now = _time.GetTimestamp();
        double seconds = _time.GetElapsedTime(_lastTick, now).TotalSeconds;
        double rate = seconds > 0 ? (count - _lastCount) / seconds : 0;
        _lastCount = count;
        _lastTick = now;

        Governor.Follow(_runtime.CurrentVariant);
        var decision = Governor.Decide(new GovernorInput
        {
            Device = snapshot,
            Observed = status.ToDictionary(s => s.Id, s => s.Latency),
            ArrivalRatePerSecond = rate,
            Hints = _hints,
        });
        if (decision.Switched)
        {
            try
            {
                _runtime.SwitchTo(decision.Variant);
                _logger.LogInformation("Switched {From} → {To}: {Reason} ({Detail})", decision.Previous, decision.Variant, decision.Reason, decision.Detail);
            }
            catch (VariantUnavailableException e)
            {
                _logger.LogWarning("Could not switch to {Variant}: {Reason}", decision.Variant, e.Reason);
                string serving = _runtime.CurrentVariant;
                Governor.Follow(serving);
                decision = decision with { Variant = serving, Detail = $"{decision.Detail}; {decision.Variant} could not be loaded, {serving} keeps serving" };
            }
        }
        if (KnobPolicy is { } knobPolicy)
        {
            decision = decision with { Knobs = ChooseKnobs(knobPolicy, decision, snapshot, rate) };
        }
        PrewarmNextLighter();
        lock (_gate)
        {
            _recent.Enqueue(decision);
            while (_recent.Count > 32)
            {
                _recent.Dequeue();
            }
        }
        return decision;
    }

    /// <summary>The governor's view of a bundle's variants: quality from the manifest, cost for this device class.</summary>
    public static IReadOnlyList<VariantOption> OptionsFor(IEnumerable<VariantManifest> variants, string deviceClass) =>
    [
        .. variants.Select(v =>
        {
            var cost = v.Costs.TryGetValue(deviceClass, out var measured)
                ? new VariantCost { LatencyP50Ms = measured.LatencyP50Ms, LatencyP95Ms = measured.LatencyP95Ms, BusyPowerWatts = measured.PowerWatts, EnergyMillijoules = measured.EnergyMillijoules }
                : null;
            return new VariantOption(v.Id, QualityOf(v), cost);
        }),
    ];

    /// <summary>The manifest's measured quality; without one, a rank that keeps precision order (fp32 first).</summary>
    public static double QualityOf(VariantManifest variant)
    {
        if (variant.Quality is { } quality)
        {
            return quality.Value;
        }
        double precision = variant.Precision switch
        {
            Precisions.Fp32 => 1.0,
            Precisions.Fp16 => 0.99,
            Precisions.Mixed => 0.985,
            Precisions.Int8Static or Precisions.Int8Dynamic => 0.98,
            Precisions.Int4Weight => 0.96,
            _ => 0.95,
        };
        return precision * variant.ChannelsKept * (1 - 0.1 * variant.Sparsity);
    }

    private KnobDecision ChooseKnobs(ExecutionKnobPolicy policy, GovernorDecision decision, DeviceSnapshot? snapshot, double rate)
    {
        var profile = Profiles.Current;
        var choice = policy.Choose(_runtime.GetKnobLatency(decision.Variant), ExecutionKnobs.AllThreads().ThreadCount, decision.SloP95Ms,
            rate, PowerState.From(snapshot, profile.Policy), profile.Policy, profile.Variants.GetValueOrDefault(decision.Variant)?.Knobs);
        if (choice.Knobs != _runtime.Knobs)
        {
            try
            {
                _runtime.SetKnobs(choice.Knobs);
                _logger.LogInformation("Execution knobs → {Knobs}: {Reason} ({Detail})", choice.Knobs, choice.Reason, choice.Detail);
            }
            catch (VariantUnavailableException e)
            {
                policy.Follow(_runtime.Knobs);
                choice = choice with { Knobs = _runtime.Knobs, Detail = $"{choice.Detail}; could not prepare it: {e.Reason}" };
            }
        }
        return choice;
    }

    private void PrewarmNextLighter()
    {
        var variants = Governor.Variants;
        int index = variants.ToList().FindIndex(v => v.Id == Governor.Current);
        if (index >= 0 && index + 1 < variants.Count)
        {
            try
            {
                _runtime.Prewarm(variants[index + 1].Id);
            }
            catch (VariantUnavailableException)
            {
                // Reported by the runtime's status; the governor skips it on its next move.
            }
        }
    }

    private void SafeTick()
    {
        try
        {
            Tick();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A failed tick keeps the current variant; the next tick tries again.
            _logger.LogError(e, "Governor tick failed");
        }
    }

    public void Dispose() => _timer?.Dispose();
}
