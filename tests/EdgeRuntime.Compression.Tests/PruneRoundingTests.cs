using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Kept channel counts rounded to a hardware multiple, on every kind of generated CNN and a transformer's
/// FFN, and the choice of the multiple from probe timings. No assertion is about speed (that is the benchmark's).
/// </summary>
public sealed class PruneRoundingTests
{
    [Theory]
    [InlineData(24, 0.3, 1, 8, 16)]   // 17 -> 16
    [InlineData(88, 0.3, 1, 8, 64)]   // 62 -> 64
    [InlineData(20, 0.3, 1, 8, 16)]   // 14 -> 16
    [InlineData(16, 0.9, 1, 8, 8)]    // 2 -> never 0: one multiple
    [InlineData(6, 0.3, 1, 8, 6)]     // smaller than one multiple: left as it is
    [InlineData(10, 0.3, 1, 8, 8)]    // 7 -> 8
    [InlineData(14, 0.1, 1, 8, 14)]   // 13 -> 16 is above the original: all kept
    [InlineData(64, 0.9, 20, 8, 24)]  // at least the minimum, then the next multiple
    [InlineData(24, 0.3, 1, 1, 17)]   // 1 disables rounding
    [InlineData(200, 0.3, 1, 16, 144)]
    public void Kept_channels_round_to_the_nearest_multiple_within_the_group(int channels, double ratio, int minimum, int multiple, int expected)
    {
        Assert.Equal(expected, StructuredPruner.KeptChannels(channels, ratio, minimum, multiple));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("residual")]
    [InlineData("depthwise-se")]
    [InlineData("fpn")]
    public void Every_kind_of_generated_cnn_stays_valid_after_30_percent_with_counts_on_the_multiple(string kind)
    {
        var model = GeneratedCnns.Create(kind, size: 32);
        var before = ChannelDependencyGraph.Analyze(model);
        var prunable = before.Prunable.ToList();
        Assert.True(prunable.Count >= 3, $"{kind}: only {prunable.Count} prunable group(s); blocked: {string.Join("; ", before.Blocked.Select(g => g.BlockedBecause))}");

        var result = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.3, Criterion = ImportanceCriterion.L1, Reconstruct = false, RoundTo = 8 });

        Assert.Empty(result.Model.Graph.Validate());
        Assert.True(result.ChannelsKept < 0.85, $"{kind}: {result.ChannelsKept:P1} of the channels kept");
        var after = WeightLayer.FindAll(result.Model.Graph).ToDictionary(l => l.Name);
        foreach (var group in prunable)
        {
            int kept = (int)after[group.Producers[0].Name].Outputs;
            Assert.True(kept == group.Channels || kept % 8 == 0, $"{kind}: {group.Describe()} keeps {kept}");
            Assert.InRange(kept, 1, group.Channels);
        }
        foreach (var node in result.Model.Graph.Nodes.Where(n => n.OpType == "Conv" && n.GetInt("group", 1) > 1))
        {
            // Depthwise: one filter per channel, the group attribute follows the count.
            Assert.Equal(result.Model.Graph.FindInitializer(node.Input[1])!.Dims[0], node.GetInt("group", 1));
        }
        var input = Ort.RandomValues(2 * 3 * 32 * 32, seed: 3, 0, 1);
        var reference = Ort.Run(model, ("x", input, [2, 3, 32, 32]));
        var pruned = Ort.Run(result.Model, ("x", input, [2, 3, 32, 32]));
        Assert.Equal(reference["y"].Length, pruned["y"].Length);
        Assert.All(pruned["y"], v => Assert.True(float.IsFinite(v)));
        Assert.True(MacCounter.Count(result.Model).TotalMacs < 0.8 * MacCounter.Count(model).TotalMacs);
    }

    [Fact]
    public void Fpn_upsampling_passes_channels_through_and_the_concat_consumer_loses_both_branches()
    {
        var model = GeneratedCnns.Fpn(size: 32);
        var analysis = ChannelDependencyGraph.Analyze(model);
        var lateral = analysis.Groups.Single(g => g.Producers.Any(p => p.Name == "lateral3"));
        Assert.True(lateral.CanPrune, lateral.BlockedBecause);
        Assert.Equal(["lateral2", "lateral3"], lateral.Producers.Select(p => p.Name).Order());

        var result = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.3, Criterion = ImportanceCriterion.L1, Reconstruct = false, RoundTo = 8 });
        var graph = result.Model.Graph;
        long smooth = graph.FindInitializer("smooth2.weight")!.Dims[0], side = graph.FindInitializer("side3.weight")!.Dims[0];
        Assert.Equal(smooth + side, graph.FindInitializer("head0.weight")!.Dims[1]);
        Assert.True(analysis.Groups.Single(g => g.Producers[0].Name == "smooth2").CanPrune, string.Join("; ", analysis.Blocked.Select(g => g.Describe() + ": " + g.BlockedBecause)));
        Assert.Equal(32, smooth);
        Assert.Equal(16, side);
    }

    [Fact]
    public void Ffn_neurons_of_a_transformer_are_rounded_too()
    {
        var model = TestModels.TransformerBlock(seq: 4, hidden: 16, ffn: 40);
        var result = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.3, Criterion = ImportanceCriterion.L1, Reconstruct = false, RoundTo = 8 });
        var up = WeightLayer.FindAll(result.Model.Graph).Single(l => l.Name == "ffn_up");
        // 40 - 12 = 28 -> 32.
        Assert.Equal(32, up.Outputs);
        Assert.Empty(result.Model.Graph.Validate());
    }

    [Fact]
    public void Reconstruction_with_rounding_keeps_the_counts_on_the_multiple()
    {
        using var temp = new TempDirectory();
        var model = GeneratedCnns.Residual(size: 32);
        string path = temp.File("model.onnx");
        model.Save(path);
        string npy = Ort.SaveNpy(temp.File("calib.npy"), Ort.RandomValues(64 * 3 * 32 * 32, seed: 9, 0, 1), 64, 3, 32, 32);
        var (inputs, _) = OrtSignatures.ReadFromFile(path);
        var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = npy }, inputs);

        var result = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0.3, RoundTo = 8, WorkDirectory = temp.Path }, data);

        Assert.Empty(result.Model.Graph.Validate());
        Assert.All(WeightLayer.FindAll(result.Model.Graph).Where(l => l.Name != "fc"), l => Assert.True(l.Outputs % 8 == 0, $"{l.Name}: {l.Outputs}"));
        Assert.Equal(32, WeightLayer.FindAll(result.Model.Graph).Single(l => l.Name == "stem").Outputs);
    }

    [Fact]
    public void The_probe_chooses_the_smallest_multiple_whose_counts_run_without_cliffs()
    {
        // Counts off multiples of 8 cost 40% more per unit of work; multiples of 16 no less than those of 8.
        var cliffs = Timings(c => c % 8 == 0 ? 1.0 : 1.4);
        var (multiple, reason, scores) = ChannelAlignment.Choose(cliffs, 0.05);
        Assert.Equal(8, multiple);
        Assert.Contains("multiples of 8", reason);
        Assert.True(scores.Single(s => s.Multiple == 1).Cost > scores.Single(s => s.Multiple == 8).Cost);

        var flat = Timings(c => 1.0 + (c % 3) * 0.01);
        Assert.Equal(1, ChannelAlignment.Choose(flat, 0.05).Multiple);

        var sixteen = Timings(c => c % 16 == 0 ? 1.0 : c % 8 == 0 ? 1.3 : 1.5);
        Assert.Equal(16, ChannelAlignment.Choose(sixteen, 0.05).Multiple);
        Assert.Throws<ArgumentException>(() => ChannelAlignment.Choose([], 0.05));
    }

    private static List<ChannelTiming> Timings(Func<int, double> efficiency) =>
        [.. new[] { "1x1", "3x3" }.SelectMany(k => Enumerable.Range(32, 49).Select(c => new ChannelTiming(k, c, efficiency(c) * c * c * 1e-4, efficiency(c))))];

    [Fact]
    public void The_probe_measures_and_caches_a_multiple_for_this_device()
    {
        using var temp = new TempDirectory();
        var quick = new ChannelProbeOptions { FromChannels = 30, ToChannels = 36, Height = 8, Width = 8, Rounds = 2, MinRoundMilliseconds = 1 };

        var measured = ChannelAlignment.LoadOrMeasure(temp.Path, quick);

        Assert.Contains(measured.Multiple, ChannelAlignment.CandidateMultiples);
        Assert.Equal(2 * 7, measured.Timings.Count);
        Assert.All(measured.Timings, t => Assert.True(t.Milliseconds > 0 && t.Efficiency >= 1, $"{t}"));
        Assert.True(File.Exists(ChannelAlignment.CachePath(temp.Path)));
        var again = ChannelAlignment.LoadOrMeasure(temp.Path, quick);
        Assert.Equal(measured.Timings, again.Timings);
    }
}
