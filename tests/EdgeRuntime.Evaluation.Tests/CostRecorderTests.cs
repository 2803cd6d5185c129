using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Evaluation.Tests;

public sealed class CostRecorderTests
{
    [Fact]
    public void Knob_costs_are_written_into_the_variant_cost_and_later_settings_merge_with_earlier_ones()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.File("models"));
        string bundle = temp.File("bundle");
        BundleBuilder.Create(bundle, "m", [new VariantSource("fp32", model), new VariantSource("copy", model)]);
        var measured = DateTimeOffset.UnixEpoch;

        CostRecorder.RecordKnobs(bundle, "this-machine", "fp32", new Dictionary<string, KnobCost>
        {
            ["1"] = new KnobCost { LatencyP50Ms = 1.8, LatencyP95Ms = 2.1, CpuMsPerInference = 2.0, Threads = 1, RatePerSecond = 10 },
            ["all+spin"] = new KnobCost { LatencyP50Ms = 3.1, LatencyP95Ms = 5.1, CpuMsPerInference = 40.8, Threads = 2, RatePerSecond = 10 },
        }, measured);
        CostRecorder.RecordKnobs(bundle, "this-machine", "fp32", new Dictionary<string, KnobCost>
        {
            ["all+spin"] = new KnobCost { LatencyP50Ms = 3.0, LatencyP95Ms = 5.0, CpuMsPerInference = 39.0, Threads = 2, RatePerSecond = 10 },
            ["all"] = new KnobCost { LatencyP50Ms = 2.2, LatencyP95Ms = 3.2, CpuMsPerInference = 2.45, Threads = 2, RatePerSecond = 10 },
        }, measured);

        // Read back from the file, as the simulation will.
        var manifest = ModelBundle.Open(bundle).Manifest;
        var knobs = manifest.Variants.Single(v => v.Id == "fp32").Costs["this-machine"].Knobs!;
        Assert.Equal(["1", "all", "all+spin"], knobs.Keys.Order());
        Assert.Equal(2.0, knobs["1"].CpuMsPerInference);
        Assert.Equal(39.0, knobs["all+spin"].CpuMsPerInference);
        Assert.Empty(manifest.Variants.Single(v => v.Id == "copy").Costs);

        var unknown = Assert.Throws<ArgumentException>(() => CostRecorder.RecordKnobs(bundle, "this-machine", "int8", knobs, measured));
        Assert.Contains("'int8'", unknown.Message);
    }
}
