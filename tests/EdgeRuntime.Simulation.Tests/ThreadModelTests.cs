using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

public sealed class ThreadModelTests
{
    private static readonly BoardCatalog Boards = BoardCatalog.BuiltIn();

    // Board figures on all cores: the reference at 0.9 ms, an int8 at 0.6.
    private static readonly SimulatedVariant[] Variants = [new("fp32", 0.906, 0.9, 1.0), new("int8", 0.905, 0.6, 0.68)];

    private static SimulationReport Run(string directory, double load, bool threads) =>
        AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions
            {
                Load = load,
                Duration = TimeSpan.FromMinutes(3),
                CostsAreBoardFigures = true,
                Threads = threads ? new SimulatedThreads() : null,
            }, directory);

    [Fact]
    public void At_a_low_rate_the_governor_runs_on_one_thread_and_spends_less_energy_per_inference()
    {
        using var temp = new TempDirectory();
        var report = Run(temp.File("low"), load: 0.05, threads: true);
        var adaptive = report.Outcomes.Single(o => o.Policy == AdaptiveSimulation.AdaptivePolicy);
        var fp32 = report.Outcomes.Single(o => o.Policy == "fp32");
        Assert.True(adaptive.SingleThreadShare > 0.9, $"one thread served {adaptive.SingleThreadShare:P0}");
        Assert.True(adaptive.SloAttainment > 0.99, $"SLO met in {adaptive.SloAttainment:P1}");
        // One core busy 3.1x as long instead of four: 0.775x the dynamic energy of fp32 on all cores, plus the same idle power.
        Assert.True(adaptive.EnergyPerInferenceMillijoules < fp32.EnergyPerInferenceMillijoules,
            $"adaptive {adaptive.EnergyPerInferenceMillijoules:F3} mJ vs fp32 {fp32.EnergyPerInferenceMillijoules:F3} mJ");
        Assert.Equal(0, fp32.SingleThreadShare);
    }

    [Fact]
    public void A_rate_one_thread_cannot_serve_keeps_all_cores_and_the_slo()
    {
        using var temp = new TempDirectory();
        var adaptive = Run(temp.File("high"), load: 0.5, threads: true).Outcomes.Single(o => o.Policy == AdaptiveSimulation.AdaptivePolicy);
        Assert.True(adaptive.SingleThreadShare < 0.05, $"one thread served {adaptive.SingleThreadShare:P0}");
        Assert.True(adaptive.SloAttainment > 0.95, $"SLO met in {adaptive.SloAttainment:P1}");
    }

    [Fact]
    public void Without_the_thread_model_nothing_changes()
    {
        using var temp = new TempDirectory();
        var with = Run(temp.File("a"), load: 0.5, threads: false).Outcomes;
        Assert.All(with, o => Assert.Equal(0, o.SingleThreadShare));
    }
}
