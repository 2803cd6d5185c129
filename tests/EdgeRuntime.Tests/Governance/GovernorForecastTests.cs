using EdgeRuntime.Devices;
using EdgeRuntime.Governance;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Tests.Governance;

/// <summary>
/// The governor plans from what it measured: how long the battery lasts at the draw it reads, and where the board's
/// temperature is heading on the variants that served. Each test runs a small model of the board in fake time.
/// </summary>
public sealed class GovernorForecastTests
{
    private static readonly VariantOption[] Variants =
    [
        new("fp32", 0.906, new VariantCost { LatencyP50Ms = 10, LatencyP95Ms = 12 }),
        new("int8", 0.905, new VariantCost { LatencyP50Ms = 6, LatencyP95Ms = 7 }),
        new("pruned", 0.890, new VariantCost { LatencyP50Ms = 3, LatencyP95Ms = 3.5 }),
    ];

    private static readonly ThermalThresholds Thresholds = new(60, 75, 80, 2);
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(0.5);

    private static GovernorProfile Profile(double? horizonSeconds = null) => new()
    {
        DeviceClass = "test-board",
        Version = 1,
        Provenance = new ProfileProvenance { Source = "test" },
        Policy = new GovernorPolicy { DwellUpSeconds = 10, SloP95Ms = 100, ThermalMarginCelsius = 2, BatteryTiers = [], BatteryHorizonSeconds = horizonSeconds },
        Thermal = new ThermalModel { ThrottleCelsius = 80, TimeConstantSeconds = 100, RiseAtFullLoadCelsius = 40 },
    };

    private static DeviceSnapshot Board(FakeTimeProvider time, double celsius, ThermalState? state = null, double? batteryPercent = null, double watts = 0) => new()
    {
        Timestamp = time.GetUtcNow(),
        Board = "test-board",
        ThermalZones = [new ThermalZoneReading("thermal_zone0", "cpu-thermal", Reading<double>.Ok(celsius))],
        ThermalState = state ?? Thresholds.Classify(celsius),
        PowerSupplies = batteryPercent is double percent
            ?
            [
                new PowerSupplyReading("battery", "Battery", Reading<double>.Ok(percent), Reading<string>.Ok("Discharging"),
                    Reading<double>.Ok(3.7), Reading<double>.Ok(-watts / 3.7), Reading<double>.Ok(watts), Reading<bool>.Unavailable("-")),
                new PowerSupplyReading("ac", "Mains", Reading<double>.Unavailable("-"), Reading<string>.Unavailable("-"),
                    Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<double>.Unavailable("-"), Reading<bool>.Ok(false)),
            ]
            : [],
    };

    [Fact]
    public void The_battery_budget_keeps_the_most_accurate_variant_while_the_charge_lasts_the_horizon_and_steps_down_when_it_does_not()
    {
        // A 10 Wh battery (360 J a percent) from 45%, reported in whole percent. At 40 requests/s the board draws
        // 2 W plus 5 W times the CPU's utilisation: fp32 4 W, int8 3.2 W, pruned 2.6 W. fp32 lasts the hour while the
        // charge is above 40%, int8 above 32%; below that nothing does, and the most frugal variant serves.
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile(horizonSeconds: 3600)), time);
        const double joulesPerPercent = 360, rate = 40;
        double joules = 45 * joulesPerPercent;
        var draws = Variants.ToDictionary(v => v.Id, v => 2 + 5 * rate * v.Cost!.LatencyP50Ms / 1000);
        var switches = new List<(GovernorDecision Decision, double Percent)>();
        string serving = governor.Current;
        for (int tick = 0; tick < 2 * 5400; tick++)
        {
            double percent = Math.Round(joules / joulesPerPercent);
            var decision = governor.Decide(new GovernorInput { Device = Board(time, 40, batteryPercent: percent, watts: draws[serving]), ArrivalRatePerSecond = rate });
            if (decision.Switched)
            {
                switches.Add((decision, percent));
            }
            serving = decision.Variant;
            joules -= draws[serving] * Tick.TotalSeconds;
            time.Advance(Tick);
        }

        Assert.Equal(["int8", "pruned"], switches.Select(s => s.Decision.Variant));
        Assert.All(switches, s => Assert.Equal(DecisionReason.BatteryBudget, s.Decision.Reason));
        // Not earlier than the budget needs: fp32 until its hour no longer fits (40% at 4 W), int8 until 32% at 3.2 W.
        Assert.InRange(switches[0].Percent, 38, 40);
        Assert.InRange(switches[1].Percent, 30, 32);
        Assert.Contains("under the 60-min horizon", switches[0].Decision.Detail);
    }

    [Fact]
    public void Without_a_horizon_or_before_the_percentage_has_dropped_twice_the_battery_budget_does_not_act()
    {
        var time = new FakeTimeProvider();
        var withoutHorizon = new Governor(Variants, new ProfileStore(Profile()), time);
        var withHorizon = new Governor(Variants, new ProfileStore(Profile(horizonSeconds: 3600)), time);
        // 5% at 4 W: minutes left, but one reading of a steady percentage tells nothing about what a percent holds.
        for (int tick = 0; tick < 20; tick++)
        {
            var snapshot = Board(time, 40, batteryPercent: 5, watts: 4);
            Assert.Equal("fp32", withoutHorizon.Decide(new GovernorInput { Device = snapshot, ArrivalRatePerSecond = 40 }).Variant);
            Assert.Equal("fp32", withHorizon.Decide(new GovernorInput { Device = snapshot, ArrivalRatePerSecond = 40 }).Variant);
            time.Advance(Tick);
        }
    }

    [Fact]
    public void In_the_serious_state_a_variant_whose_measured_trend_stays_below_the_limit_keeps_serving_but_none_heavier_is_tried()
    {
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time, initial: "int8");
        // Warming slowly through 75 °C (serious) toward about 77 °C, below the 78 °C limit: nothing to step down for.
        var decisions = new List<GovernorDecision>();
        for (int tick = 0; tick < 240; tick++)
        {
            double celsius = 77 - 2.4 * Math.Exp(-tick * Tick.TotalSeconds / 100);
            decisions.Add(governor.Decide(new GovernorInput { Device = Board(time, celsius), ArrivalRatePerSecond = 20 }));
            time.Advance(Tick);
        }
        Assert.All(decisions, d => Assert.Equal("int8", d.Variant));
        var serious = decisions.Where(d => d.TemperatureCelsius >= 75).ToList();
        Assert.NotEmpty(serious);
        Assert.All(serious, d => Assert.Equal(DecisionReason.ThermalSerious, d.Reason));
        Assert.Contains("it stays, no move up", serious[^1].Detail);

        // A board found serious with no trend measured yet is stepped down at once, as before.
        var fresh = new Governor(Variants, new ProfileStore(Profile()), time, initial: "int8");
        var first = fresh.Decide(new GovernorInput { Device = Board(time, 76.5), ArrivalRatePerSecond = 20 });
        Assert.Equal(("pruned", DecisionReason.ThermalSerious), (first.Variant, first.Reason));
    }

    [Fact]
    public void After_stepping_down_from_a_heating_variant_the_forecast_credits_the_lighter_one_and_the_board_settles_on_it()
    {
        // A first-order board: 60 °C air, 40 °C more at full load, 100 s time constant. At 70 requests/s fp32 would
        // settle at 88 °C (over the 78 °C limit), int8 at 76.8 °C and pruned at 68.4 °C. The heating seen on fp32 is not int8's:
        // once on int8 it must stay there, and the board must never reach the throttle point.
        var time = new FakeTimeProvider();
        var governor = new Governor(Variants, new ProfileStore(Profile()), time);
        const double ambient = 60, rise = 40, tau = 100, rate = 70;
        double celsius = ambient, hottest = ambient;
        var served = new List<string>();
        var switches = new List<string>();
        for (int tick = 0; tick < 2 * 900; tick++)
        {
            var decision = governor.Decide(new GovernorInput { Device = Board(time, celsius), ArrivalRatePerSecond = rate });
            served.Add(decision.Variant);
            if (decision.Switched)
            {
                switches.Add($"{tick * Tick.TotalSeconds:F1} s at {celsius:F1} °C: {decision.Previous} -> {decision.Variant} {decision.Reason}: {decision.Detail}");
            }
            double utilisation = rate * Variants.Single(v => v.Id == decision.Variant).Cost!.LatencyP50Ms / 1000;
            double settle = ambient + rise * utilisation;
            celsius = settle + (celsius - settle) * Math.Exp(-Tick.TotalSeconds / tau);
            hottest = Math.Max(hottest, celsius);
            time.Advance(Tick);
        }
        Assert.Equal("fp32", served[0]);
        Assert.True(!served.Contains("pruned"), string.Join("\n", switches));
        Assert.Equal("int8", served[^1]);
        Assert.True(hottest < 80, $"the board reached {hottest:F1} °C");
    }
}
