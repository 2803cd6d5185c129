using EdgeRuntime.Governance;
using EdgeRuntime.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Fleet.Tests;

/// <summary>The fitter splits each variant's cost by the threads setting its windows were logged under.</summary>
public sealed class KnobCostFitTests
{
    private static readonly (double Mhz, double Celsius)[] Conditions = [(1500, 50), (1000, 55), (750, 60), (1500, 65), (1000, 70), (750, 52)];

    /// <summary>One window of a variant under a setting: service time scales with the clock period (ms at 1500 MHz given).</summary>
    private static InferenceSummary Window(string variant, string? knobs, double serviceMsAtFullClock, double cpuMs, (double Mhz, double Celsius) at, double? watts = null)
    {
        double service = serviceMsAtFullClock * 1500 / at.Mhz;
        return new InferenceSummary
        {
            Variant = variant, WindowSeconds = 10, Count = 100, MeanMs = service + 1, P95Ms = service * 1.5,
            ServiceMeanMs = service, ServiceP95Ms = service * 1.2, FrequencyMhz = at.Mhz, Celsius = at.Celsius,
            CpuMsPerInference = cpuMs, Knobs = knobs, PowerWatts = watts,
        };
    }

    private static async Task<FittedProfile> FitAsync(TempDirectory temp, IEnumerable<InferenceSummary> windows)
    {
        string log = temp.File("dev");
        await using (var writer = TelemetryLog.Open(new TelemetryLogOptions { Directory = log, DeviceId = "dev", DeviceClass = "raspberry-pi-4" }))
        {
            foreach (var window in windows)
            {
                writer.TryWrite(TelemetryRecord.For(window));
            }
        }
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        store.IngestLogs([log]);
        return new ProfileFitter(store, new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero))).Fit("raspberry-pi-4");
    }

    [Fact]
    public async Task Each_threads_setting_with_enough_windows_gets_its_own_latency_cpu_and_energy()
    {
        using var temp = new TempDirectory();
        // One thread: 7 ms a run for 7.5 ms of CPU; the pool: 3 ms a run for 10 ms of CPU (threads wake and synchronise).
        // The spinning pool was logged twice only, and one window comes from a device too old to log its setting.
        var windows = Conditions.Select(c => Window("fp32", "1", 7, 7.5, c))
            .Concat(Conditions.Select(c => Window("fp32", "all", 3, 10, c)))
            .Concat(Conditions.Take(2).Select(c => Window("fp32", "all+spin", 2.5, 14, c)))
            .Append(Window("fp32", null, 5, 9, Conditions[0]))
            .ToList();
        var fitted = await FitAsync(temp, windows);

        var fp32 = fitted.Profile.Variants["fp32"];
        Assert.NotNull(fp32.Knobs);
        Assert.Equal(["1", "all"], fp32.Knobs.Keys.Order(StringComparer.Ordinal));
        var single = fp32.Knobs["1"];
        var pool = fp32.Knobs["all"];
        // At full clock: service p95 = 1.2 x the run, mean = the run.
        Assert.Equal(8.4, single.LatencyP95Ms, 6);
        Assert.Equal(7, single.LatencyP50Ms, 6);
        Assert.Equal(3.6, pool.LatencyP95Ms, 6);
        Assert.Equal(3, pool.LatencyP50Ms, 6);
        Assert.Equal(7.5, single.CpuMsPerInference!.Value, 9);
        Assert.Equal(10, pool.CpuMsPerInference!.Value, 9);
        // No power rail: CPU time x the Pi 4's 1 W per busy core at 1500 MHz, scaled by the square of the clock.
        double ClockEnergy(double cpuMs) => Conditions.Average(c => cpuMs * Math.Pow(c.Mhz / 1500, 2));
        Assert.Equal(ClockEnergy(7.5), single.EnergyMillijoules!.Value, 9);
        Assert.Equal(ClockEnergy(10), pool.EnergyMillijoules!.Value, 9);
        Assert.True(single.LatencyP95Ms > pool.LatencyP95Ms && single.EnergyMillijoules < pool.EnergyMillijoules);

        // The variant's own figures still cover every window, whatever its setting.
        Assert.InRange(fp32.LatencyP95Ms, pool.LatencyP95Ms, single.LatencyP95Ms);
        Assert.Equal(windows.Average(w => w.CpuMsPerInference!.Value * Math.Pow(w.FrequencyMhz!.Value / 1500, 2)), fp32.EnergyMillijoules!.Value, 9);
    }

    [Fact]
    public async Task Where_power_was_logged_each_setting_costs_its_watts_times_its_median()
    {
        using var temp = new TempDirectory();
        var windows = Conditions.Select(c => Window("int8", "1", 4, 4.2, c, watts: 3.0))
            .Concat(Conditions.Select(c => Window("int8", "all", 2, 6, c, watts: 4.5)));
        var knobs = (await FitAsync(temp, windows)).Profile.Variants["int8"].Knobs!;
        Assert.Equal(3.0 * knobs["1"].LatencyP50Ms, knobs["1"].EnergyMillijoules!.Value, 9);
        Assert.Equal(4.5 * knobs["all"].LatencyP50Ms, knobs["all"].EnergyMillijoules!.Value, 9);
        Assert.Equal(12, knobs["1"].EnergyMillijoules!.Value, 6);
        Assert.Equal(9, knobs["all"].EnergyMillijoules!.Value, 6);
    }

    [Fact]
    public async Task A_variant_logged_without_settings_or_with_too_few_windows_each_gets_no_setting_costs()
    {
        using var temp = new TempDirectory();
        var windows = Conditions.Select(c => Window("fp32", null, 5, 9, c))
            .Concat(Conditions.Take(2).Select(c => Window("fp32", "1", 7, 7.5, c)))
            .Concat(Conditions.Take(2).Select(c => Window("fp32", "all", 3, 10, c)));
        var fitted = await FitAsync(temp, windows);
        Assert.Null(fitted.Profile.Variants["fp32"].Knobs);
        Assert.Empty(ProfileJson.Validate(fitted.Profile));
    }

    [Fact]
    public async Task The_fitted_setting_costs_round_trip_through_the_profile_json()
    {
        using var temp = new TempDirectory();
        var windows = Conditions.Select(c => Window("fp32", "1", 7, 7.5, c)).Concat(Conditions.Select(c => Window("fp32", "all", 3, 10, c)));
        var profile = (await FitAsync(temp, windows)).Profile;
        string json = ProfileJson.Serialize(profile);
        Assert.Contains("\"knobs\"", json);
        var parsed = ProfileJson.Parse(json, "fitted.json");
        var expected = profile.Variants["fp32"].Knobs!;
        var actual = parsed.Variants["fp32"].Knobs!;
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (code, cost) in expected)
        {
            Assert.Equal(cost, actual[code]);
        }
    }
}
