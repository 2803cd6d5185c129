using EdgeRuntime.Bundles;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

public sealed class ThreadModelTests
{
    private static readonly BoardCatalog Boards = BoardCatalog.BuiltIn();

    // Board figures on all cores: the reference at 0.9 ms, an int8 at 0.6.
    private static readonly SimulatedVariant[] Variants = [new("fp32", 0.906, 0.9, 1.0), new("int8", 0.905, 0.6, 0.68)];

    // The PP-OCR classifier through the daemon at 10 requests/s on a 2-core x86 (bench-knobs): one thread, the pool, the pool spinning.
    private static readonly Dictionary<string, KnobCost> Measured = new()
    {
        ["1"] = new KnobCost { LatencyP50Ms = 1.83, LatencyP95Ms = 2.09, CpuMsPerInference = 2.00, Threads = 1, RatePerSecond = 10 },
        ["all"] = new KnobCost { LatencyP50Ms = 2.24, LatencyP95Ms = 3.19, CpuMsPerInference = 2.45, Threads = 2, RatePerSecond = 10 },
        ["all+spin"] = new KnobCost { LatencyP50Ms = 3.06, LatencyP95Ms = 5.06, CpuMsPerInference = 40.8, Threads = 2, RatePerSecond = 10 },
    };

    private static SimulationReport Run(string directory, double load, bool threads, SimulatedThreads? model = null, bool onBattery = false) =>
        AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions
            {
                Load = load,
                Duration = TimeSpan.FromMinutes(3),
                CostsAreBoardFigures = true,
                Threads = model ?? (threads ? new SimulatedThreads() : null),
                OnBattery = onBattery,
            }, directory);

    [Fact]
    public void Recorded_knob_costs_give_the_parallel_efficiency_the_cpu_ratio_and_the_spin_window()
    {
        var model = new SimulatedThreads().WithRecorded(Measured, "test");
        // One thread was faster than two: no parallel speed-up to give up.
        Assert.Equal(0, model.ParallelEfficiency);
        Assert.Equal(2.45 / 2.00, model.AllThreadsCpuRatio!.Value, 9);
        // The spinning pool's extra CPU, shared by the one pool thread beside the caller.
        Assert.Equal(40.8 - 2.45, model.SpinWindowMs, 9);
        Assert.Equal(ExecutionKnobs.AllThreads(spin: true), model.StaticKnobs);
        var missing = Assert.Throws<ArgumentException>(() => new SimulatedThreads().WithRecorded(new Dictionary<string, KnobCost> { ["all"] = Measured["all"] }, "test"));
        Assert.Contains("'1'", missing.Message);
        Assert.Throws<ArgumentException>(() => new SimulatedThreads().WithRecorded(new Dictionary<string, KnobCost>(Measured) { ["1"] = Measured["1"] with { CpuMsPerInference = double.NaN } }, "test"));
    }

    [Fact]
    public void Each_variant_runs_on_its_own_recorded_thread_figures_and_the_others_on_the_references()
    {
        // int8 measured without a spinning setting and scaling better than fp32; "pruned" never measured.
        var int8Knobs = new Dictionary<string, KnobCost>
        {
            ["1"] = new KnobCost { LatencyP50Ms = 1.2, LatencyP95Ms = 1.4, CpuMsPerInference = 1.3, Threads = 1, RatePerSecond = 10 },
            ["all"] = new KnobCost { LatencyP50Ms = 0.7, LatencyP95Ms = 0.9, CpuMsPerInference = 1.5, Threads = 2, RatePerSecond = 10 },
        };
        static VariantManifest Variant(string id, Dictionary<string, KnobCost>? knobs) => new()
        {
            Id = id,
            File = id + ".onnx",
            Sha256 = new string('0', 64),
            Costs = knobs is null ? new Dictionary<string, DeviceCost>() : new Dictionary<string, DeviceCost> { ["raspberry-pi-4"] = new() { LatencyP50Ms = 1, LatencyP95Ms = 1, Knobs = knobs } },
        };
        var manifest = new BundleManifest
        {
            Name = "ladder",
            ReferenceVariant = "fp32",
            Inputs = [],
            Outputs = [],
            Variants = [Variant("pruned", null), Variant("int8", int8Knobs), Variant("fp32", Measured)],
        };

        var resolved = RecordedCosts.ResolveThreads(new SimulatedThreads(), manifest, "raspberry-pi-4");

        Assert.Equal(40.8 - 2.45, resolved.For("fp32").SpinWindowMs, 9);
        Assert.Equal(0, resolved.For("int8").SpinWindowMs);
        Assert.Equal((1.2 / 0.7 - 1) / 1, resolved.For("int8").ParallelEfficiency, 9);
        Assert.Same(resolved.For("pruned"), resolved);
        Assert.Equal(resolved.For("fp32").SpinWindowMs, resolved.SpinWindowMs);
        Assert.Contains("2 of 3", resolved.Source);

        // The simulated int8 costs what its own figures say, whatever the reference's spin cost.
        using var temp = new TempDirectory();
        var ownFigures = new SimulatedThreads().WithRecorded(int8Knobs, "int8");
        var int8Resolved = Run(temp.File("resolved"), load: 0.05, threads: true, resolved).Outcomes.Single(o => o.Policy == "int8");
        var int8Own = Run(temp.File("own"), load: 0.05, threads: true, ownFigures).Outcomes.Single(o => o.Policy == "int8");
        var int8AsFp32 = Run(temp.File("as-fp32"), load: 0.05, threads: true, resolved.For("fp32")).Outcomes.Single(o => o.Policy == "int8");
        Assert.Equal(int8Own.EnergyPerInferenceMillijoules, int8Resolved.EnergyPerInferenceMillijoules, 9);
        Assert.True(int8AsFp32.EnergyPerInferenceMillijoules > 2 * int8Resolved.EnergyPerInferenceMillijoules,
            $"int8 with the reference's spinning {int8AsFp32.EnergyPerInferenceMillijoules} mJ, on its own figures {int8Resolved.EnergyPerInferenceMillijoules} mJ");
    }

    [Fact]
    public void Static_variants_spin_for_the_recorded_window_and_the_energy_follows_it()
    {
        using var temp = new TempDirectory();
        var spinning = new SimulatedThreads().WithRecorded(Measured, "test");
        var fp32Spinning = Run(temp.File("spin"), load: 0.05, threads: true, spinning).Outcomes.Single(o => o.Policy == "fp32");
        var fp32Quiet = Run(temp.File("quiet"), load: 0.05, threads: true, spinning with { SpinWindowMs = 0 }).Outcomes.Single(o => o.Policy == "fp32");
        // Poisson arrivals at rate r: the spin lasts min(window, gap to the next run), E = (1 - e^(-r w)) / r, on the Pi's 3 pool threads beside the caller.
        var pi4 = Boards.Get("raspberry-pi-4").Simulation!;
        double rate = 0.05 / (0.9 / 1000), window = spinning.SpinWindowMs / 1000;
        double expectedMj = pi4.DynamicWattsAtMax * 3.0 / 4 * (1 - Math.Exp(-rate * window)) / rate * 1000;
        double extraMj = fp32Spinning.EnergyPerInferenceMillijoules - fp32Quiet.EnergyPerInferenceMillijoules;
        Assert.InRange(extraMj, expectedMj * 0.85, expectedMj * 1.15);
    }

    [Fact]
    public void On_battery_with_the_recorded_spin_the_governor_runs_one_thread_and_outlasts_the_best_static_by_a_third()
    {
        using var temp = new TempDirectory();
        var report = Run(temp.File("battery"), load: 0.05, threads: true, new SimulatedThreads().WithRecorded(Measured, "test"), onBattery: true);
        var adaptive = report.Outcomes.Single(o => o.Policy == AdaptiveSimulation.AdaptivePolicy);
        var fp32 = report.Outcomes.Single(o => o.Policy == "fp32");
        Assert.True(fp32.SloAttainment > 0.99, $"fp32 met its SLO in {fp32.SloAttainment:P1}");
        Assert.True(adaptive.SloAttainment > 0.99, $"SLO met in {adaptive.SloAttainment:P1}");
        Assert.True(adaptive.SingleThreadShare > 0.9, $"one thread served {adaptive.SingleThreadShare:P0}");
        Assert.True(adaptive.BatteryHoursAtThisLoad >= 1.3 * fp32.BatteryHoursAtThisLoad,
            $"adaptive {adaptive.BatteryHoursAtThisLoad:F2} h vs fp32 on all cores, spinning {fp32.BatteryHoursAtThisLoad:F2} h");
    }

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
