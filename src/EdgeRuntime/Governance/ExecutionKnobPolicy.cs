using EdgeRuntime.Devices;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Governance;

/// <summary>Why the threads/spin setting is what it is; carried with the governor's decision.</summary>
public enum KnobReason
{
    /// <summary>One thread meets the SLO with margin: the least CPU (and energy) per inference.</summary>
    SingleThreadFits,
    /// <summary>On battery below a tier: one thread while it meets the SLO at all (no margin asked).</summary>
    SingleThreadOnBattery,
    /// <summary>One thread is predicted to miss the SLO: the whole pool, no spinning.</summary>
    ThreadsForSlo,
    /// <summary>Even the whole pool misses the SLO without spinning, on external power: its threads spin.</summary>
    SpinForSlo,
    /// <summary>Spinning would help the SLO, but the board is on battery: no spinning.</summary>
    SpinOffOnBattery,
    /// <summary>A cheaper setting would do, but the last change was too recent to undo.</summary>
    KnobDwellHold,
    /// <summary>The setting is fixed by configuration; the governor does not change it.</summary>
    Fixed,
}

/// <summary>The setting chosen for the next requests, with its reason and the figures behind it.</summary>
public sealed record KnobDecision(ExecutionKnobs Knobs, KnobReason Reason, string Detail)
{
    public double? SingleThreadP95Ms { get; init; }
    public double? AllThreadsP95Ms { get; init; }
}

/// <summary>Where the board's power comes from, as far as the knob policy cares.</summary>
public readonly record struct PowerState(bool OnBattery, double? BatteryPercent, bool BelowBatteryTier)
{
    public static PowerState Mains => new(false, null, false);

    public static PowerState From(DeviceSnapshot? device, GovernorPolicy policy)
    {
        if (device?.Battery is not { } battery)
        {
            return Mains;
        }
        if (device.ExternalPower.TryGetValue(out bool external) && external)
        {
            return Mains;
        }
        double? percent = battery.CapacityPercent.TryGetValue(out double p) ? p : null;
        bool below = percent is double value && policy.BatteryTiers.Any(t => value < t.BelowPercent);
        return new PowerState(true, percent, below);
    }
}

/// <summary>
/// Chooses threads and spinning for the variant the governor chose: the cheapest setting in CPU per inference that
/// meets the SLO. One thread runs on the caller alone and costs the least CPU; the whole pool cuts latency for more CPU
/// (threads synchronise and wake); spinning cuts it a little more and burns CPU while idle. So: one thread whenever it
/// meets the SLO (with the profile's margin on external power, without on a battery below a tier); otherwise the pool;
/// spinning only on external power when the pool without it is measured to miss the SLO. Moves to a costlier setting
/// happen at once (the SLO is at stake); moves back wait for the profile's dwell time. A setting not yet measured enough
/// is estimated from a measured one, through the fleet-fitted profile's ratio between the two where it has both.
/// </summary>
public sealed class ExecutionKnobPolicy(TimeProvider time)
{
    /// <summary>Runs a setting must have in the latency window before its figures are trusted over an estimate.</summary>
    public const int MinimumSamples = 8;

    /// <summary>Assumed speed-up per extra thread when one setting was never measured (ONNX Runtime on small boards: 0.6–0.8).</summary>
    public const double AssumedParallelEfficiency = 0.7;

    private ExecutionKnobs? _current;
    private DateTimeOffset _lastChange = DateTimeOffset.MinValue;

    public ExecutionKnobs? Current => _current;

    /// <summary>Follow a setting made elsewhere (configuration, a client).</summary>
    public void Follow(ExecutionKnobs knobs) => _current = knobs.Normalized;

    /// <param name="observed">Latency per setting of the chosen variant, as the runtime measured it.</param>
    /// <param name="poolThreads">Threads of the whole pool.</param>
    /// <param name="arrivalRate">Requests per second lately (queueing adds to the p95).</param>
    /// <param name="profileCosts">The chosen variant's per-setting costs from the profile (<see cref="VariantCost.Knobs"/>), if fitted.</param>
    public KnobDecision Choose(IReadOnlyDictionary<ExecutionKnobs, LatencySnapshot> observed, int poolThreads, double? sloP95Ms,
        double arrivalRate, PowerState power, GovernorPolicy policy, IReadOnlyDictionary<string, KnobSettingCost>? profileCosts = null)
    {
        var now = time.GetUtcNow();
        var single = ExecutionKnobs.SingleThread;
        var pool = ExecutionKnobs.AllThreads(spin: false);
        var spinning = ExecutionKnobs.AllThreads(spin: true);
        var current = _current ?? pool;

        if (poolThreads <= 1)
        {
            return Take(single, KnobReason.SingleThreadFits, "the pool has one thread", now);
        }
        var (singleP50, singleP95) = Estimate(observed, single, poolThreads, profileCosts);
        var (poolP50, poolP95) = Estimate(observed, pool, poolThreads, profileCosts);
        double singleResponse = Governor.ResponseP95(singleP50, singleP95, arrivalRate * singleP50 / 1000);
        double poolResponse = Governor.ResponseP95(poolP50, poolP95, arrivalRate * poolP50 / 1000);
        KnobDecision With(KnobDecision d) => d with
        {
            SingleThreadP95Ms = double.IsFinite(singleResponse) ? singleResponse : null,
            AllThreadsP95Ms = double.IsFinite(poolResponse) ? poolResponse : null,
        };

        // NaN: never measured nor estimable. Infinity is a measurement too: one thread cannot keep up with the rate.
        if (sloP95Ms is not double slo || double.IsNaN(singleP95))
        {
            // Nothing to meet, or nothing known yet: the cheapest setting.
            string why = sloP95Ms is null ? "no SLO" : "no latency measured yet";
            return With(Step(current, single, KnobReason.SingleThreadFits, why, now, policy));
        }
        // Staying on one thread needs the SLO; moving to it from the pool needs the margin too, so the choice does not flap.
        double margin = power.BelowBatteryTier ? 1.0 : policy.UpLatencyMargin;
        double singleLimit = current.IsSingleThread ? slo : slo * margin;
        if (singleResponse <= singleLimit)
        {
            var reason = power.BelowBatteryTier ? KnobReason.SingleThreadOnBattery : KnobReason.SingleThreadFits;
            return With(Step(current, single, reason, $"1 thread predicted p95 {singleResponse:F1} ms ≤ {singleLimit:F1} ms", now, policy));
        }
        if (poolResponse <= slo || !observed.ContainsKey(pool))
        {
            return With(Step(current, pool, KnobReason.ThreadsForSlo,
                $"1 thread predicted p95 {singleResponse:F1} ms > {singleLimit:F1} ms; {poolThreads} threads {poolResponse:F1} ms", now, policy));
        }
        if (observed.TryGetValue(spinning, out var spun) && spun.WindowCount >= MinimumSamples
            && Governor.ResponseP95(spun.P50Ms, spun.P95Ms, arrivalRate * spun.P50Ms / 1000) >= poolResponse)
        {
            // Spinning was tried and ran no faster (other processes want the cores): it would only burn CPU.
            return With(Step(current, pool, KnobReason.ThreadsForSlo,
                $"{poolThreads} threads miss the SLO ({poolResponse:F1} > {slo:F1} ms) and spinning measured no faster ({spun.P95Ms:F1} ms p95)", now, policy));
        }
        if (power.OnBattery)
        {
            return With(Step(current, pool, KnobReason.SpinOffOnBattery,
                $"{poolThreads} threads miss the SLO ({poolResponse:F1} > {slo:F1} ms) but spinning is off on battery", now, policy));
        }
        return With(Step(current, spinning, KnobReason.SpinForSlo,
            $"{poolThreads} threads miss the SLO without spinning ({poolResponse:F1} > {slo:F1} ms)", now, policy));
    }

    /// <summary>
    /// Median and p95 of a setting: measured when there are enough runs; else a measured setting scaled by the profile's
    /// ratio between the two (the fleet saw both on this device class), or by the assumed parallel efficiency without it;
    /// else, with nothing measured, the profile's own figures (full clock, typical temperature).
    /// </summary>
    public static (double P50, double P95) Estimate(IReadOnlyDictionary<ExecutionKnobs, LatencySnapshot> observed, ExecutionKnobs knobs, int poolThreads,
        IReadOnlyDictionary<string, KnobSettingCost>? profileCosts = null)
    {
        static bool Usable(LatencySnapshot s) => s.WindowCount >= MinimumSamples && double.IsFinite(s.P95Ms);
        if (observed.TryGetValue(knobs.Normalized, out var own) && Usable(own))
        {
            return (own.P50Ms, own.P95Ms);
        }
        // The best-measured setting first, so the estimate does not depend on the dictionary's order.
        var measured = observed.Where(p => Usable(p.Value)).OrderByDescending(p => p.Value.WindowCount).ThenBy(p => Cost(p.Key)).ToList();
        KnobSettingCost? prior = null;
        if (profileCosts?.TryGetValue(knobs.Normalized.Code, out prior) == true)
        {
            foreach (var (other, snapshot) in measured)
            {
                if (profileCosts.TryGetValue(other.Normalized.Code, out var basis))
                {
                    return (snapshot.P50Ms * prior!.LatencyP50Ms / basis.LatencyP50Ms, snapshot.P95Ms * prior.LatencyP95Ms / basis.LatencyP95Ms);
                }
            }
        }
        double speedUp = 1 + (poolThreads - 1) * AssumedParallelEfficiency;
        var single = ExecutionKnobs.SingleThread;
        foreach (var (other, snapshot) in measured)
        {
            if (other.IsSingleThread == knobs.IsSingleThread)
            {
                continue;
            }
            double factor = knobs.IsSingleThread ? speedUp : 1 / speedUp;
            return (snapshot.P50Ms * factor, snapshot.P95Ms * factor);
        }
        if (knobs.Normalized != single && observed.TryGetValue(knobs.Normalized with { Spin = !knobs.Spin }, out var sibling) && Usable(sibling))
        {
            return (sibling.P50Ms, sibling.P95Ms);
        }
        return prior is null ? (double.NaN, double.NaN) : (prior.LatencyP50Ms, prior.LatencyP95Ms);
    }

    private static double Cost(ExecutionKnobs knobs) => knobs.IsSingleThread ? 0 : knobs.Spin ? 2 : 1;

    private KnobDecision Step(ExecutionKnobs current, ExecutionKnobs target, KnobReason reason, string detail, DateTimeOffset now, GovernorPolicy policy)
    {
        if (Cost(target) < Cost(current) && _current is not null && (now - _lastChange).TotalSeconds < policy.DwellUpSeconds)
        {
            return new KnobDecision(current, KnobReason.KnobDwellHold,
                $"{detail}; {target.Code} would do, but the last change was {(now - _lastChange).TotalSeconds:F0} s ago (dwell {policy.DwellUpSeconds:F0} s)");
        }
        return Take(target, reason, detail, now);
    }

    private KnobDecision Take(ExecutionKnobs target, KnobReason reason, string detail, DateTimeOffset now)
    {
        if (_current != target)
        {
            _current = target;
            _lastChange = now;
        }
        return new KnobDecision(target, reason, detail);
    }
}
