using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

public sealed class SimulationTests
{
    // Latencies "measured here"; the board runs them 6x slower. A pruned variant at 0.6x the work.
    private static readonly SimulatedVariant[] Variants =
    [
        new("fp32", 0.906, 1.0, 1.15),
        new("int8", 0.905, 0.95, 1.1),
        new("pruned", 0.893, 0.6, 0.7),
    ];

    private static SimulationReport Run(SimulationOptions options, string directory) =>
        AdaptiveSimulation.Run(Variants, BoardCatalog.BuiltIn().Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"), options, directory);

    [Fact]
    public void Same_seed_gives_the_same_outcome()
    {
        using var temp = new TempDirectory();
        var options = new SimulationOptions { Duration = TimeSpan.FromMinutes(3) };
        var first = Run(options, temp.File("a"));
        var second = Run(options, temp.File("b"));
        Assert.Equal(first.Outcomes.Select(Describe), second.Outcomes.Select(Describe));
    }

    [Fact]
    public void At_80_percent_load_adaptive_keeps_the_slo_without_throttling_where_fp32_throttles()
    {
        using var temp = new TempDirectory();
        var report = Run(new SimulationOptions { Duration = TimeSpan.FromMinutes(20), Load = 0.8, AmbientCelsius = 30 }, temp.Path);
        var outcomes = report.Outcomes.ToDictionary(o => o.Policy);
        var adaptive = outcomes[AdaptiveSimulation.AdaptivePolicy];

        Assert.True(adaptive.SloAttainment >= 0.99, Describe(adaptive));
        Assert.Equal(0, adaptive.SecondsThrottled);
        // fp32 alone heats the board into throttling and misses the SLO there.
        Assert.True(outcomes["fp32"].SecondsThrottled > 0, Describe(outcomes["fp32"]));
        Assert.True(outcomes["fp32"].SloAttainment < 0.99, Describe(outcomes["fp32"]));
        // Adaptive serves at least the quality of every static variant that also keeps the SLO.
        foreach (var keeping in report.Outcomes.Where(o => o.Policy != AdaptiveSimulation.AdaptivePolicy && o.SloAttainment >= 0.99))
        {
            Assert.True(adaptive.MeanQuality >= keeping.MeanQuality - 1e-9, $"{Describe(adaptive)} vs {Describe(keeping)}");
        }
    }

    [Fact]
    public void The_adaptive_run_logs_service_time_apart_from_queue_wait_at_the_clock_it_ran()
    {
        using var temp = new TempDirectory();
        var factors = Variants.ToDictionary(v => v.Id, _ => 1.2);
        var report = Run(new SimulationOptions { Duration = TimeSpan.FromMinutes(3), Load = 0.9, StaticBaselines = false, TrueCostFactors = factors }, temp.Path);
        Assert.Equal([AdaptiveSimulation.AdaptivePolicy], report.Outcomes.Select(o => o.Policy));
        var windows = report.AdaptiveServiceWindows.Where(w => w.Count >= 50).ToList();
        Assert.True(windows.Count >= 30, $"{windows.Count} windows");
        foreach (var window in windows)
        {
            // The board's true median at the window's clock (6x the measured figure by the table, 1.2x again in truth).
            var variant = Variants.Single(v => v.Id == window.Variant);
            double expected = variant.MeasuredP50Ms * BoardSpeed.SlowdownFor("raspberry-pi-4") * 1.2 * 1500 / window.FrequencyMhz;
            Assert.InRange(window.ServiceMeanMs / expected, 0.95, 1.08);
            Assert.Equal(window.ResponseMeanMs, window.ServiceMeanMs + window.QueueWaitMeanMs, 6);
            Assert.True(window.ServiceP95Ms >= window.ServiceMeanMs);
        }
        // At this load requests queue: response time is not service time.
        Assert.Contains(windows, w => w.QueueWaitMeanMs > 0.5 * w.ServiceMeanMs);
    }

    [Fact]
    public void Invalid_options_are_refused()
    {
        using var temp = new TempDirectory();
        Assert.Throws<ArgumentException>(() => Run(new SimulationOptions { Load = 0 }, temp.Path));
        Assert.Throws<ArgumentException>(() => Run(new SimulationOptions { Duration = TimeSpan.Zero }, temp.Path));
        var e = Assert.Throws<ArgumentException>(() => Run(new SimulationOptions { TrueCostFactors = new Dictionary<string, double> { ["int8"] = 0 } }, temp.Path));
        Assert.Contains("int8", e.Message);
    }

    private static string Describe(PolicyOutcome o) =>
        $"{o.Policy}: slo {o.SloAttainment:P2} quality {o.MeanQuality:P3} max {o.MaxCelsius:F2} °C throttled {o.SecondsThrottled:F0} s switches {o.Switches} requests {o.Requests}";
}
