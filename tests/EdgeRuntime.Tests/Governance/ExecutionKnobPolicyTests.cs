using EdgeRuntime.Governance;
using EdgeRuntime.Inference;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Tests.Governance;

public sealed class ExecutionKnobPolicyTests
{
    private static readonly GovernorPolicy Policy = new() { UpLatencyMargin = 0.7, DwellUpSeconds = 10 };
    private static readonly ExecutionKnobs Single = ExecutionKnobs.SingleThread;
    private static readonly ExecutionKnobs Pool = ExecutionKnobs.AllThreads(spin: false);
    private static readonly ExecutionKnobs Spinning = ExecutionKnobs.AllThreads(spin: true);

    private static LatencySnapshot Measured(double p50, double p95) => new(64, 64, 0, p50, p50, p95, p95, p95, p50, p50);

    /// <summary>A variant whose one-thread run takes 40 ms (p95 44), the pool 25 (p95 28) and the spinning pool 20 (p95 22).</summary>
    private static Dictionary<ExecutionKnobs, LatencySnapshot> Costs() => new()
    {
        [Single] = Measured(40, 44),
        [Pool] = Measured(25, 28),
        [Spinning] = Measured(20, 22),
    };

    private static PowerState Battery(double percent) => new(true, percent, percent < 40);

    [Fact]
    public void A_loose_slo_runs_on_one_thread_on_mains_and_on_battery()
    {
        foreach (var power in new[] { PowerState.Mains, Battery(80), Battery(10) })
        {
            var policy = new ExecutionKnobPolicy(new FakeTimeProvider());
            var decision = policy.Choose(Costs(), poolThreads: 4, sloP95Ms: 200, arrivalRate: 1, power, Policy);
            Assert.Equal(Single, decision.Knobs);
            Assert.Equal(power.BelowBatteryTier ? KnobReason.SingleThreadOnBattery : KnobReason.SingleThreadFits, decision.Reason);
        }
    }

    [Fact]
    public void A_tight_slo_takes_the_pool_and_spins_only_on_mains()
    {
        var mains = new ExecutionKnobPolicy(new FakeTimeProvider());
        var pool = mains.Choose(Costs(), 4, sloP95Ms: 35, arrivalRate: 1, PowerState.Mains, Policy);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (pool.Knobs, pool.Reason));

        // 25 ms: the pool without spinning misses it; on mains its threads spin.
        var spin = mains.Choose(Costs(), 4, sloP95Ms: 25, arrivalRate: 1, PowerState.Mains, Policy);
        Assert.Equal((Spinning, KnobReason.SpinForSlo), (spin.Knobs, spin.Reason));

        var battery = new ExecutionKnobPolicy(new FakeTimeProvider());
        var noSpin = battery.Choose(Costs(), 4, sloP95Ms: 25, arrivalRate: 1, Battery(80), Policy);
        Assert.Equal((Pool, KnobReason.SpinOffOnBattery), (noSpin.Knobs, noSpin.Reason));
    }

    [Fact]
    public void Does_not_spin_when_spinning_was_measured_no_faster()
    {
        var costs = Costs();
        costs[Spinning] = Measured(30, 40); // contended cores: spinning threads slow each other down
        var decision = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(costs, 4, sloP95Ms: 25, arrivalRate: 1, PowerState.Mains, Policy);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (decision.Knobs, decision.Reason));
    }

    [Fact]
    public void Below_a_battery_tier_one_thread_may_use_the_whole_slo()
    {
        // One thread: p95 44 ms. SLO 50: within the SLO but not within 70% of it.
        var mains = new ExecutionKnobPolicy(new FakeTimeProvider());
        mains.Follow(Pool);
        Assert.Equal(Pool, mains.Choose(Costs(), 4, 50, 1, PowerState.Mains, Policy).Knobs);
        Assert.Equal(Pool, new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(Costs(), 4, 50, 1, Battery(80), Policy).Knobs);
        Assert.Equal(Single, new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(Costs(), 4, 50, 1, Battery(30), Policy).Knobs);
    }

    [Fact]
    public void Moves_to_more_threads_at_once_and_back_only_after_the_dwell()
    {
        var clock = new FakeTimeProvider();
        var policy = new ExecutionKnobPolicy(clock);
        Assert.Equal(Single, policy.Choose(Costs(), 4, 200, 1, PowerState.Mains, Policy).Knobs);
        // The app tightens its SLO: the pool at once.
        Assert.Equal(Pool, policy.Choose(Costs(), 4, 35, 1, PowerState.Mains, Policy).Knobs);
        // Loosened again two seconds later: one thread would do, but the dwell holds the pool.
        clock.Advance(TimeSpan.FromSeconds(2));
        var held = policy.Choose(Costs(), 4, 200, 1, PowerState.Mains, Policy);
        Assert.Equal((Pool, KnobReason.KnobDwellHold), (held.Knobs, held.Reason));
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(Single, policy.Choose(Costs(), 4, 200, 1, PowerState.Mains, Policy).Knobs);
    }

    [Fact]
    public void Queueing_at_a_high_rate_rules_out_one_thread()
    {
        // 40 ms per run at 20 requests/s is 80% busy on one thread: the queue pushes its p95 far past 100 ms.
        var decision = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(Costs(), 4, 100, arrivalRate: 20, PowerState.Mains, Policy);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (decision.Knobs, decision.Reason));
        Assert.True(decision.SingleThreadP95Ms > 100, $"one thread predicted {decision.SingleThreadP95Ms} ms");

        // 26 requests/s need 1.04 s of one-thread work per second: one thread cannot keep up at all; the pool (65% busy) can.
        var saturated = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(Costs(), 4, 150, arrivalRate: 26, PowerState.Mains, Policy);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (saturated.Knobs, saturated.Reason));
        Assert.Null(saturated.SingleThreadP95Ms);
    }

    [Fact]
    public void An_unmeasured_setting_is_estimated_from_the_measured_one()
    {
        var onlyPool = new Dictionary<ExecutionKnobs, LatencySnapshot> { [Pool] = Measured(10, 12) };
        var (p50, p95) = ExecutionKnobPolicy.Estimate(onlyPool, Single, poolThreads: 2);
        Assert.Equal(10 * (1 + ExecutionKnobPolicy.AssumedParallelEfficiency), p50, 6);
        Assert.Equal(12 * (1 + ExecutionKnobPolicy.AssumedParallelEfficiency), p95, 6);
        Assert.True(double.IsNaN(ExecutionKnobPolicy.Estimate(new Dictionary<ExecutionKnobs, LatencySnapshot>(), Single, 2).P95));
    }

    /// <summary>The fleet's fit for the variant: one thread 40 ms (p95 48), the pool 10 (p95 12), four times faster.</summary>
    private static readonly Dictionary<string, KnobSettingCost> FittedCosts = new()
    {
        ["1"] = new KnobSettingCost { LatencyP50Ms = 40, LatencyP95Ms = 48, CpuMsPerInference = 40 },
        ["all"] = new KnobSettingCost { LatencyP50Ms = 10, LatencyP95Ms = 12, CpuMsPerInference = 30 },
    };

    [Fact]
    public void The_profile_says_one_thread_misses_the_slo_before_one_thread_was_ever_measured()
    {
        // Only the pool was measured: 10 ms, p95 12. The assumed 0.7 efficiency on 4 threads puts one thread at 37 ms p95,
        // within 70% of a 60 ms SLO; the profile's ratio (4x) puts it at 48 ms, outside it.
        var onlyPool = new Dictionary<ExecutionKnobs, LatencySnapshot> { [Pool] = Measured(10, 12) };
        var assumed = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(onlyPool, 4, sloP95Ms: 60, arrivalRate: 1, PowerState.Mains, Policy);
        Assert.Equal(Single, assumed.Knobs);

        var decision = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(onlyPool, 4, sloP95Ms: 60, arrivalRate: 1, PowerState.Mains, Policy, FittedCosts);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (decision.Knobs, decision.Reason));
        Assert.Equal(48, decision.SingleThreadP95Ms!.Value, 6);
    }

    [Fact]
    public void With_nothing_measured_the_profile_figures_decide()
    {
        var nothing = new Dictionary<ExecutionKnobs, LatencySnapshot>();
        Assert.Equal(Single, new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(nothing, 4, 60, 1, PowerState.Mains, Policy).Knobs);
        var decision = new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(nothing, 4, 60, 1, PowerState.Mains, Policy, FittedCosts);
        Assert.Equal((Pool, KnobReason.ThreadsForSlo), (decision.Knobs, decision.Reason));
        // A loose SLO: the profile's one thread fits it, so the cheapest setting.
        Assert.Equal(Single, new ExecutionKnobPolicy(new FakeTimeProvider()).Choose(nothing, 4, 200, 1, PowerState.Mains, Policy, FittedCosts).Knobs);
    }

    [Fact]
    public void The_profile_ratio_scales_the_measured_setting_and_never_overrides_a_measurement()
    {
        // This device runs the pool at 15 ms (p95 18), slower than the fleet's 10: one thread is scaled to 60 (p95 72).
        var onlyPool = new Dictionary<ExecutionKnobs, LatencySnapshot> { [Pool] = Measured(15, 18) };
        Assert.Equal((60, 72), Rounded(ExecutionKnobPolicy.Estimate(onlyPool, Single, 4, FittedCosts)));
        // Measured enough: the measurement, whatever the profile says.
        var both = new Dictionary<ExecutionKnobs, LatencySnapshot> { [Pool] = Measured(15, 18), [Single] = Measured(30, 33) };
        Assert.Equal((30, 33), Rounded(ExecutionKnobPolicy.Estimate(both, Single, 4, FittedCosts)));
        // The profile lacks the spinning pool: the sibling without spinning stands in, as without a profile.
        Assert.Equal((15, 18), Rounded(ExecutionKnobPolicy.Estimate(onlyPool, Spinning, 4, FittedCosts)));
    }

    private static (double, double) Rounded((double P50, double P95) estimate) => (Math.Round(estimate.P50, 9), Math.Round(estimate.P95, 9));

    [Theory]
    [InlineData("1", 1, false)]
    [InlineData("all", ExecutionKnobs.All, false)]
    [InlineData("all,spin", ExecutionKnobs.All, true)]
    [InlineData("threads=1;spin=on", 1, false)]
    public void Parses_knob_settings(string text, int threads, bool spin) =>
        Assert.Equal(new ExecutionKnobs(threads, spin), ExecutionKnobs.Parse(text));

    [Theory]
    [InlineData("fast")]
    [InlineData("spin")]
    [InlineData("-2")]
    public void Refuses_bad_knob_settings_naming_the_part(string text)
    {
        var e = Assert.Throws<FormatException>(() => ExecutionKnobs.Parse(text));
        Assert.Contains(text, e.Message);
    }
}
