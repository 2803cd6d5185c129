using EdgeRuntime.Devices;
using EdgeRuntime.Governance;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Tests.Governance;

/// <summary>An unreadable battery capacity is unknown, and unknown never lifts the battery cap.</summary>
public sealed class UnknownBatteryTests
{
    private static readonly VariantOption[] Variants =
    [
        new("fp32", 0.906, new VariantCost { LatencyP50Ms = 10, LatencyP95Ms = 12 }),
        new("int8", 0.905, new VariantCost { LatencyP50Ms = 6, LatencyP95Ms = 7 }),
        new("pruned", 0.890, new VariantCost { LatencyP50Ms = 3, LatencyP95Ms = 3.5 }),
    ];

    private static GovernorProfile Profile() => new()
    {
        DeviceClass = "test-board",
        Version = 1,
        Provenance = new ProfileProvenance { Source = "test" },
        Policy = new GovernorPolicy { DwellUpSeconds = 5, SloP95Ms = 100 },
        Thermal = new ThermalModel { ThrottleCelsius = 80, TimeConstantSeconds = 100, RiseAtFullLoadCelsius = 40 },
    };

    private static DeviceSnapshot Snapshot(Reading<double>? capacity)
    {
        var thresholds = new ThermalThresholds(60, 75, 80, 2);
        return new DeviceSnapshot
        {
            Timestamp = DateTimeOffset.UnixEpoch,
            Board = "test-board",
            ThermalZones = [new ThermalZoneReading("thermal_zone0", "cpu-thermal", Reading<double>.Ok(40))],
            ThermalState = thresholds.Classify(40),
            PowerSupplies = capacity is { } c
                ? [new PowerSupplyReading("battery", "Battery", c, Reading<string>.Ok("Discharging"),
                    Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<bool>.Unavailable("-"))]
                : [],
        };
    }

    private static GovernorDecision Tick(Governor governor, FakeTimeProvider time, Reading<double>? capacity)
    {
        time.Advance(TimeSpan.FromSeconds(1));
        return governor.Decide(new GovernorInput { Device = Snapshot(capacity), ArrivalRatePerSecond = 10 });
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("missing")]
    [InlineData("battery gone")]
    public void An_unreadable_capacity_after_a_low_reading_keeps_the_lightest_variant_for_good(string how)
    {
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time);
        var low = Tick(governor, time, Reading<double>.Ok(10));
        Assert.Equal("pruned", low.Variant);
        Assert.Equal(DecisionReason.BatteryTier, low.Reason);
        Reading<double>? unreadable = how switch
        {
            "garbage" => Reading<double>.Unavailable("battery capacity: 'abc' is not an integer"),
            "missing" => Reading<double>.Unavailable("no such file"),
            _ => null,
        };
        // Far longer than the dwell time: before the fix the cap lifted within a few ticks (Headroom).
        for (int i = 0; i < 60; i++)
        {
            var decision = Tick(governor, time, unreadable);
            Assert.Equal("pruned", decision.Variant);
            Assert.NotEqual(DecisionReason.Headroom, decision.Reason);
        }
        var last = Tick(governor, time, unreadable);
        Assert.Contains(last.Reason, new[] { DecisionReason.SensorsUnknown, DecisionReason.BatteryTier, DecisionReason.Steady });
    }

    [Fact]
    public void An_unreadable_capacity_never_moves_up_and_says_sensors_unknown()
    {
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time, "int8");
        governor.Follow("int8");
        // 90%: no tier applies, so a readable battery would let the governor climb to fp32 after the dwell.
        Tick(governor, time, Reading<double>.Ok(90));
        GovernorDecision? decision = null;
        for (int i = 0; i < 30; i++)
        {
            decision = Tick(governor, time, Reading<double>.Unavailable("garbage"));
            Assert.Equal("int8", decision.Variant);
        }
        Assert.Equal(DecisionReason.SensorsUnknown, decision!.Reason);
        Assert.Contains("battery capacity unreadable", decision.Detail);
        // Once it reads again the governor may climb.
        for (int i = 0; i < 10; i++)
        {
            decision = Tick(governor, time, Reading<double>.Ok(90));
        }
        Assert.Equal("fp32", decision!.Variant);
    }

    [Fact]
    public void A_battery_never_read_takes_the_most_conservative_tier()
    {
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time);
        var decision = Tick(governor, time, Reading<double>.Unavailable("garbage"));
        Assert.Equal("pruned", decision.Variant);
        Assert.Equal(DecisionReason.BatteryTier, decision.Reason);
        Assert.Contains("most conservative tier", decision.Detail);
    }

    [Fact]
    public void Critical_state_without_a_temperature_says_so_instead_of_an_empty_value()
    {
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time);
        var snapshot = new DeviceSnapshot
        {
            Timestamp = DateTimeOffset.UnixEpoch,
            Board = "test-board",
            ThermalZones = [new ThermalZoneReading("thermal_zone0", "cpu-thermal", Reading<double>.Unavailable("unreadable"))],
            ThermalState = ThermalState.Critical,
        };
        var decision = governor.Decide(new GovernorInput { Device = snapshot, ArrivalRatePerSecond = 10 });
        Assert.Equal(DecisionReason.ThermalCritical, decision.Reason);
        Assert.DoesNotContain(" °C", decision.Detail.Replace("(temperature unreadable)", ""));
        Assert.Contains("temperature unreadable", decision.Detail);
    }
}
