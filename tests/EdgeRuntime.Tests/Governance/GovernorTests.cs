using EdgeRuntime.Devices;
using EdgeRuntime.Governance;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Tests.Governance;

public sealed class GovernorTests
{
    // Most accurate first; each lighter one is cheaper.
    private static readonly VariantOption[] Variants =
    [
        new("fp32", 0.906, new VariantCost { LatencyP50Ms = 10, LatencyP95Ms = 12 }),
        new("int8", 0.905, new VariantCost { LatencyP50Ms = 6, LatencyP95Ms = 7 }),
        new("pruned", 0.890, new VariantCost { LatencyP50Ms = 3, LatencyP95Ms = 3.5 }),
    ];

    private static readonly ThermalThresholds Thresholds = new(60, 75, 80, 2);

    private static GovernorProfile Profile(double dwell = 10) => new()
    {
        DeviceClass = "test-board",
        Version = 1,
        Provenance = new ProfileProvenance { Source = "test" },
        Policy = new GovernorPolicy { DwellUpSeconds = dwell, SloP95Ms = 100 },
        Thermal = new ThermalModel { ThrottleCelsius = 80, TimeConstantSeconds = 100, RiseAtFullLoadCelsius = 40 },
    };

    private static DeviceSnapshot Snapshot(double celsius, double? batteryPercent = null, bool charging = false, TimeProvider? time = null) => new()
    {
        Timestamp = (time ?? TimeProvider.System).GetUtcNow(),
        Board = "test-board",
        ThermalZones = [new ThermalZoneReading("thermal_zone0", "cpu-thermal", Reading<double>.Ok(celsius))],
        ThermalState = Thresholds.Classify(celsius),
        PowerSupplies = batteryPercent is double percent
            ?
            [
                new PowerSupplyReading("battery", "Battery", Reading<double>.Ok(percent), Reading<string>.Ok(charging ? "Charging" : "Discharging"),
                    Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<bool>.Unavailable("-")),
            ]
            : [],
    };

    private static Governor NewGovernor(FakeTimeProvider time, GovernorProfile? profile = null, string? initial = null) =>
        new(Variants, new ProfileStore(profile ?? Profile()), time, initial);

    [Fact]
    public void Cool_idle_board_serves_the_most_accurate_variant()
    {
        var time = new FakeTimeProvider();
        var decision = NewGovernor(time).Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 10 });
        Assert.Equal("fp32", decision.Variant);
        Assert.Equal(DecisionReason.Initial, decision.Reason);
    }

    [Theory]
    [InlineData(false, "fp32")]
    [InlineData(true, "pruned")]
    public void A_momentary_idle_clock_does_not_make_heavier_variants_look_slow_but_a_reported_cap_does(bool capped, string expected)
    {
        // The cores sit at 600 of 1500 MHz. Unthrottled, that is the kernel idling them and the clock rises with work:
        // fp32 at 60 requests/s is 60% busy at full clock. Under a firmware cap the board really runs that slow: 150%.
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, initial: "int8");
        var snapshot = Snapshot(45, time: time) with
        {
            CpuPolicies = [new CpuPolicyReading("policy0", Reading<double>.Ok(600), Reading<double>.Ok(1500), Reading<double>.Ok(1500), Reading<string>.Ok("ondemand"))],
            Throttle = Reading<ThrottleFlags>.Ok(capped ? ThrottleFlags.FrequencyCapped : ThrottleFlags.None),
        };
        governor.Decide(new GovernorInput { Device = snapshot, ArrivalRatePerSecond = 60 });
        time.Advance(TimeSpan.FromSeconds(60));
        var decision = governor.Decide(new GovernorInput { Device = snapshot with { Timestamp = time.GetUtcNow() }, ArrivalRatePerSecond = 60 });
        Assert.Equal(expected, decision.Variant);
    }

    [Fact]
    public void Load_that_would_break_the_slo_moves_down_at_once_with_the_reason()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time);
        governor.Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 10 });
        // 80 requests/s keep fp32 (10 ms) 80% busy: over the 85% limit with its spread; int8 is 48% busy.
        var decision = governor.Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 90 });
        Assert.Equal("int8", decision.Variant);
        Assert.Equal(DecisionReason.SloRisk, decision.Reason);
        Assert.True(decision.Switched);
    }

    [Fact]
    public void Measured_slo_breach_steps_down_even_when_predictions_look_fine()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time);
        var breach = new Dictionary<string, Inference.LatencySnapshot>
        {
            ["fp32"] = new(50, 50, 0, 90, 110, 150, 160, 170, 120, 120),
        };
        var decision = governor.Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 5, Observed = breach });
        Assert.Equal("int8", decision.Variant);
        Assert.Equal(DecisionReason.SloBreach, decision.Reason);
    }

    [Theory]
    [InlineData(76, DecisionReason.ThermalSerious, "int8")]
    [InlineData(81, DecisionReason.ThermalCritical, "pruned")]
    public void Hot_states_step_down(double celsius, DecisionReason reason, string variant)
    {
        var time = new FakeTimeProvider();
        var decision = NewGovernor(time).Decide(new GovernorInput { Device = Snapshot(celsius), ArrivalRatePerSecond = 10 });
        Assert.Equal(variant, decision.Variant);
        Assert.Equal(reason, decision.Reason);
    }

    [Fact]
    public void A_rising_temperature_predicted_to_reach_the_limit_steps_down_before_it_gets_there()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time);
        GovernorDecision? firstSwitch = null;
        double celsius = 0;
        // Heating at 0.2 °C/s from 58 °C: a first-order model with a 100 s time constant settles ~20 °C higher.
        for (int i = 0; i <= 200 && firstSwitch is null; i++)
        {
            celsius = 58 + 0.1 * i;
            var decision = governor.Decide(new GovernorInput { Device = Snapshot(celsius), ArrivalRatePerSecond = 40 });
            if (decision.Switched)
            {
                firstSwitch = decision;
            }
            time.Advance(TimeSpan.FromSeconds(0.5));
        }
        Assert.NotNull(firstSwitch);
        Assert.Equal(DecisionReason.ThermalPredicted, firstSwitch.Reason);
        Assert.True(celsius < Thresholds.SeriousCelsius, $"switched only at {celsius} °C");
        Assert.True(firstSwitch.PredictedCelsius < 75, $"chose a variant predicted to settle at {firstSwitch.PredictedCelsius} °C");
    }

    private static GovernorProfile ShippedLikeProfile() => Profile() with
    {
        Policy = new GovernorPolicy { DwellUpSeconds = 10, MaxDwellUpSeconds = 160, RateMemorySeconds = 90, SloP95Ms = 100 },
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Under_a_rising_ramp_of_load_and_heat_it_never_moves_to_a_heavier_variant(bool withMemory)
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, withMemory ? ShippedLikeProfile() : Profile());
        int previous = 0;
        // Ten minutes of 0.5 s ticks: load from 20 to 140 requests/s and temperature from 40 to 74 °C, both linear.
        for (int i = 0; i <= 1200; i++)
        {
            double f = i / 1200.0;
            var decision = governor.Decide(new GovernorInput { Device = Snapshot(40 + 34 * f, time: time), ArrivalRatePerSecond = 20 + 120 * f });
            int index = Array.FindIndex(Variants, v => v.Id == decision.Variant);
            Assert.True(index >= previous, $"at tick {i} moved from {Variants[previous].Id} up to {decision.Variant} ({decision.Reason}: {decision.Detail})");
            previous = index;
            time.Advance(TimeSpan.FromSeconds(0.5));
        }
        Assert.Equal(2, previous);
    }

    [Fact]
    public void Under_a_falling_ramp_it_climbs_one_step_at_a_time_and_only_after_the_dwell()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, ShippedLikeProfile(), initial: "pruned");
        DateTimeOffset last = time.GetUtcNow();
        int previous = 2, ups = 0;
        // Load falls from 140 to 20 requests/s over ten minutes, then holds for five.
        for (int i = 0; i <= 1800; i++)
        {
            double rate = 140 - 120 * Math.Min(1, i / 1200.0);
            var decision = governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = rate });
            int index = Array.FindIndex(Variants, v => v.Id == decision.Variant);
            if (decision.Switched)
            {
                Assert.True(index == previous - 1, $"from {Variants[previous].Id} to {decision.Variant} at tick {i}");
                Assert.True((decision.At - last).TotalSeconds >= 10, $"moved up {(decision.At - last).TotalSeconds} s after the last switch");
                Assert.Equal(DecisionReason.Headroom, decision.Reason);
                last = decision.At;
                ups++;
            }
            previous = index;
            time.Advance(TimeSpan.FromSeconds(0.5));
        }
        Assert.Equal(2, ups);
        Assert.Equal(0, previous);
    }

    [Fact]
    public void A_recent_burst_keeps_it_on_the_variant_that_fits_the_burst()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, ShippedLikeProfile());
        // 20 requests/s fits fp32 (10 ms); a 4-s burst at 160/s needs pruned (3 ms).
        string Tick(double rate)
        {
            var d = governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = rate });
            time.Advance(TimeSpan.FromSeconds(0.5));
            return d.Variant;
        }
        Assert.Equal("fp32", Tick(20));
        for (int i = 0; i < 8; i++)
        {
            Tick(160);
        }
        Assert.Equal("pruned", Tick(160));
        // 60 s later the burst is still within the 90-s memory: no climb although the dwell has long passed.
        for (int i = 0; i < 120; i++)
        {
            Assert.Equal("pruned", Tick(20));
        }
        // Once it has left the memory, it climbs back.
        var seen = new HashSet<string>();
        for (int i = 0; i < 200; i++)
        {
            seen.Add(Tick(20));
        }
        Assert.Contains("fp32", seen);
    }

    [Fact]
    public void A_move_up_that_is_undone_doubles_the_dwell_before_the_next()
    {
        var time = new FakeTimeProvider();
        var profile = ShippedLikeProfile() with { Policy = ShippedLikeProfile().Policy with { RateMemorySeconds = 0 } };
        var governor = NewGovernor(time, profile, initial: "int8");
        governor.Follow("int8");
        Assert.Equal(10, governor.EffectiveDwellSeconds(profile.Policy, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal("fp32", governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = 20 }).Variant);
        time.Advance(TimeSpan.FromSeconds(3));
        // The load comes back at once: fp32 no longer fits, and the move up counts as undone.
        Assert.Equal("int8", governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = 120 }).Variant);
        Assert.Equal(20, governor.EffectiveDwellSeconds(profile.Policy, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(12));
        var held = governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = 20 });
        Assert.Equal(DecisionReason.DwellHold, held.Reason);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal("fp32", governor.Decide(new GovernorInput { Device = Snapshot(50, time: time), ArrivalRatePerSecond = 20 }).Variant);
    }

    [Fact]
    public void Hotter_never_picks_a_heavier_variant()
    {
        int previous = -1;
        for (double celsius = 30; celsius <= 90; celsius += 0.5)
        {
            var time = new FakeTimeProvider();
            var decision = NewGovernor(time).Decide(new GovernorInput { Device = Snapshot(celsius), ArrivalRatePerSecond = 40 });
            int index = Array.FindIndex(Variants, v => v.Id == decision.Variant);
            Assert.True(index >= previous, $"at {celsius} °C chose {decision.Variant} after a lighter one at a cooler temperature");
            previous = index;
        }
    }

    [Fact]
    public void Lower_battery_never_picks_a_heavier_variant_and_charging_lifts_the_cap()
    {
        int previous = -1;
        for (double percent = 100; percent >= 1; percent -= 1)
        {
            var time = new FakeTimeProvider();
            var decision = NewGovernor(time).Decide(new GovernorInput { Device = Snapshot(40, percent), ArrivalRatePerSecond = 10 });
            int index = Array.FindIndex(Variants, v => v.Id == decision.Variant);
            Assert.True(index >= previous, $"at {percent}% chose {decision.Variant}");
            previous = index;
        }
        Assert.Equal(2, previous); // 10 ms → 3 ms is the only variant within 35% of fp32's energy
        var charging = NewGovernor(new FakeTimeProvider()).Decide(new GovernorInput { Device = Snapshot(40, 5, charging: true), ArrivalRatePerSecond = 10 });
        Assert.Equal("fp32", charging.Variant);
        var low = NewGovernor(new FakeTimeProvider()).Decide(new GovernorInput { Device = Snapshot(40, 10), ArrivalRatePerSecond = 10 });
        Assert.Equal(DecisionReason.BatteryTier, low.Reason);
    }

    [Fact]
    public void Moving_up_waits_for_the_dwell_time_then_climbs_one_step_at_a_time()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, Profile(dwell: 10), initial: "pruned");
        governor.Follow("pruned");
        var held = governor.Decide(new GovernorInput { Device = Snapshot(40), ArrivalRatePerSecond = 10 });
        Assert.Equal("pruned", held.Variant);
        Assert.Equal(DecisionReason.DwellHold, held.Reason);

        time.Advance(TimeSpan.FromSeconds(10));
        var first = governor.Decide(new GovernorInput { Device = Snapshot(40), ArrivalRatePerSecond = 10 });
        Assert.Equal("int8", first.Variant);
        Assert.Equal(DecisionReason.Headroom, first.Reason);

        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("int8", governor.Decide(new GovernorInput { Device = Snapshot(40), ArrivalRatePerSecond = 10 }).Variant);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("fp32", governor.Decide(new GovernorInput { Device = Snapshot(40), ArrivalRatePerSecond = 10 }).Variant);
    }

    [Fact]
    public void Noisy_sensors_near_a_threshold_do_not_make_it_flap()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, Profile(dwell: 10));
        var random = new Random(3);
        var switches = new List<DateTimeOffset>();
        for (int i = 0; i < 2400; i++) // 20 minutes of 0.5 s ticks
        {
            double celsius = 74 + (random.NextDouble() - 0.5) * 3; // ±1.5 °C around just below serious
            var decision = governor.Decide(new GovernorInput { Device = Snapshot(celsius), ArrivalRatePerSecond = 30 });
            if (decision.Switched)
            {
                switches.Add(decision.At);
            }
            time.Advance(TimeSpan.FromSeconds(0.5));
        }
        // Every move up needs 10 s since the last switch, so at most one switch per 10 s window plus the moves down.
        for (int i = 2; i < switches.Count; i++)
        {
            Assert.True(switches[i] - switches[i - 2] >= TimeSpan.FromSeconds(10), $"three switches within 10 s at {switches[i]}");
        }
        Assert.True(switches.Count <= 20 * 60 / 10, $"{switches.Count} switches in 20 minutes");
    }

    [Fact]
    public void Unknown_temperature_never_moves_to_a_heavier_variant()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time, initial: "int8");
        time.Advance(TimeSpan.FromMinutes(5));
        var unknown = new DeviceSnapshot
        {
            Timestamp = time.GetUtcNow(),
            Board = "test-board",
            ThermalZones = [new ThermalZoneReading("thermal_zone0", "cpu-thermal", Reading<double>.Unavailable("file missing"))],
        };
        var decision = governor.Decide(new GovernorInput { Device = unknown, ArrivalRatePerSecond = 1 });
        Assert.Equal("int8", decision.Variant);
        Assert.Equal(DecisionReason.SensorsUnknown, decision.Reason);
    }

    [Fact]
    public void Same_inputs_give_the_same_decisions()
    {
        static List<string> Run()
        {
            var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
            var governor = NewGovernor(time);
            var random = new Random(5);
            var log = new List<string>();
            for (int i = 0; i < 600; i++)
            {
                var decision = governor.Decide(new GovernorInput { Device = Snapshot(55 + 25 * random.NextDouble(), time: time), ArrivalRatePerSecond = 100 * random.NextDouble() });
                log.Add($"{decision.Variant}:{decision.Reason}");
                time.Advance(TimeSpan.FromSeconds(0.5));
            }
            return log;
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void Quality_floor_keeps_lighter_variants_out_unless_limits_force_them()
    {
        var time = new FakeTimeProvider();
        var governor = NewGovernor(time);
        var hints = new GovernorHints { QualityFloor = 0.9 };
        // 200 req/s: only the pruned variant (3 ms) keeps up, and it is below the floor.
        var decision = governor.Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 200, Hints = hints });
        Assert.Equal("pruned", decision.Variant);
        Assert.Equal(DecisionReason.SloRisk, decision.Reason);
        var relaxed = NewGovernor(new FakeTimeProvider()).Decide(new GovernorInput { Device = Snapshot(45), ArrivalRatePerSecond = 90, Hints = hints });
        Assert.Equal("int8", relaxed.Variant);
    }
}
