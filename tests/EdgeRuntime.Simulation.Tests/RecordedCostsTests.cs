using EdgeRuntime.Bundles;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

public sealed class RecordedCostsTests
{
    private static readonly BoardDescriptor Pi4 = BoardCatalog.BuiltIn().Get("raspberry-pi-4");

    private static VariantManifest Variant(string id, string precision, long? macs, double quality, Dictionary<string, DeviceCost>? costs = null) => new()
    {
        Id = id, File = id + ".onnx", Sha256 = new string('0', 64), Precision = precision, Macs = macs,
        Quality = new QualityRecord { Metric = "top1", Value = quality },
        Costs = costs ?? [],
    };

    private static BundleManifest Manifest(params VariantManifest[] variants) => new()
    {
        Name = "m", ReferenceVariant = variants[0].Id, Inputs = [], Outputs = [], Variants = variants,
    };

    [Fact]
    public void Recorded_board_costs_come_first_then_the_profile_then_the_board_model()
    {
        var manifest = Manifest(
            Variant("fp32", Precisions.Fp32, 1_500_000, 0.9, new() { ["raspberry-pi-4"] = new DeviceCost { LatencyP50Ms = 2.0, LatencyP95Ms = 2.4 }, ["this-machine"] = new DeviceCost { LatencyP50Ms = 0.1, LatencyP95Ms = 0.2 } }),
            Variant("int8", Precisions.Int8Static, 1_500_000, 0.89, new() { ["this-machine"] = new DeviceCost { LatencyP50Ms = 0.2, LatencyP95Ms = 0.3 } }),
            Variant("pruned", Precisions.Fp32, 600_000, 0.88));
        var profile = ProfileCatalog.BuiltIn("raspberry-pi-4") with
        {
            Variants = new Dictionary<string, VariantCost> { ["int8"] = new VariantCost { LatencyP50Ms = 1.1, LatencyP95Ms = 1.3 } },
        };
        var (variants, sources) = RecordedCosts.Resolve(manifest, Pi4, profile);
        var byId = variants.ToDictionary(v => v.Id);
        Assert.Equal((2.0, 2.4), (byId["fp32"].MeasuredP50Ms, byId["fp32"].MeasuredP95Ms));
        Assert.Equal(RecordedCosts.FromManifest, sources["fp32"]);
        Assert.Equal((1.1, 1.3), (byId["int8"].MeasuredP50Ms, byId["int8"].MeasuredP95Ms));
        Assert.Equal(RecordedCosts.FromProfile, sources["int8"]);
        // Another machine's recorded figures are never taken for the board's; the board's model gives the pruned one.
        var model = Pi4.Simulation!.Costs!;
        Assert.Equal(model.OverheadMs + 600_000 / (model.Fp32Gmacs * 1e6), byId["pruned"].MeasuredP50Ms, 9);
        Assert.Equal(RecordedCosts.FromBoardModel, sources["pruned"]);
        Assert.Equal(byId["pruned"].MeasuredP50Ms * model.P95OverP50, byId["pruned"].MeasuredP95Ms, 9);
    }

    [Fact]
    public void The_board_model_prices_precisions_by_the_board_and_a_variant_without_any_figure_is_refused()
    {
        var manifest = Manifest(Variant("fp32", Precisions.Fp32, 2_000_000, 0.9), Variant("int8", Precisions.Int8Static, 2_000_000, 0.89), Variant("fp16", Precisions.Fp16, 2_000_000, 0.9));
        var profile = ProfileCatalog.BuiltIn("raspberry-pi-4");
        double Relative(BoardDescriptor board, string id)
        {
            var byId = RecordedCosts.Resolve(manifest, board, profile).Variants.ToDictionary(v => v.Id);
            double overhead = board.Simulation!.Costs!.OverheadMs;
            return (byId[id].MeasuredP50Ms - overhead) / (byId["fp32"].MeasuredP50Ms - overhead);
        }
        var pi5 = BoardCatalog.BuiltIn().Get("raspberry-pi-5");
        // Cortex-A72: no fp16 arithmetic, no dot-product; Cortex-A76: both.
        Assert.True(Relative(Pi4, "fp16") > 1);
        Assert.True(Relative(pi5, "fp16") < 1);
        Assert.True(Relative(pi5, "int8") < Relative(Pi4, "int8"));

        var unknown = Manifest(Variant("fp32", Precisions.Fp32, null, 0.9));
        var e = Assert.Throws<ArgumentException>(() => RecordedCosts.Resolve(unknown, Pi4, profile));
        Assert.Contains("fp32", e.Message);
        Assert.Contains("--record raspberry-pi-4", e.Message);
    }
}
