using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// Dependency-graph cases of structured pruning. Each generated model has "dead" channels (zero filters,
/// zero bias, neutral normalization), so removing exactly those by L1 norm must leave the outputs equal
/// to the reference: any slicing mistake (wrong axis, offset, block or a missed tensor) shows.
/// </summary>
public sealed class PruneGraphTests
{
    private static readonly StructuredPruneOptions RemoveDeadHalf = new()
    {
        Ratio = 0.5,
        Criterion = ImportanceCriterion.L1,
        Reconstruct = false,
        ReestimateBatchNorm = false,
    };

    [Fact]
    public void Residual_group_ties_the_added_convolutions_and_pruning_dead_channels_keeps_outputs()
    {
        var model = PruneModels.Residual();
        var analysis = ChannelDependencyGraph.Analyze(model);
        var tied = analysis.Groups.Single(g => g.Producers.Count == 2);
        Assert.Equal(["conv0", "conv2"], tied.Producers.Select(p => p.Name));
        Assert.True(tied.CanPrune, tied.BlockedBecause);

        var pruned = AssertPrunedLikeReference(model, [1, 3, 8, 8]);
        Assert.Equal(4, pruned.Graph.FindInitializer("conv0.weight")!.Dims[0]);
        Assert.Equal(4, pruned.Graph.FindInitializer("conv2.weight")!.Dims[0]);
        Assert.Equal(4, pruned.Graph.FindInitializer("conv1.weight")!.Dims[1]);
        // conv3's 4 channels become 2, each a block of 8x8 features of the Gemm.
        Assert.Equal(2 * 64, pruned.Graph.FindInitializer("fc.weight")!.Dims[1]);
    }

    [Fact]
    public void Squeeze_excitation_ties_its_gate_to_the_block_channels_and_hard_swish_passes_them_through()
    {
        var model = PruneModels.SqueezeExcite();
        var analysis = ChannelDependencyGraph.Analyze(model);
        var block = analysis.Groups.Single(g => g.Producers.Any(p => p.Name == "conv0"));
        Assert.Equal(["conv0", "se2", "proj"], block.Producers.Select(p => p.Name));
        Assert.True(block.CanPrune, block.BlockedBecause);
        Assert.Equal(["se1", "proj", "fc"], block.Consumers.Select(c => c.Layer.Name).Distinct());
        Assert.True(analysis.Groups.Single(g => g.Producers[0].Name == "se1").CanPrune);

        var pruned = AssertPrunedLikeReference(model, [1, 3, 8, 8]);
        Assert.Equal(4, pruned.Graph.FindInitializer("se2.weight")!.Dims[0]);
        Assert.Equal(2, pruned.Graph.FindInitializer("se2.weight")!.Dims[1]);
        Assert.Equal(4, pruned.Graph.FindInitializer("proj.weight")!.Dims[1]);
    }

    [Fact]
    public void Depthwise_convolution_and_batch_norm_follow_their_producer()
    {
        var model = PruneModels.Depthwise();
        var pruned = AssertPrunedLikeReference(model, [1, 3, 8, 8]);
        var depthwise = pruned.Graph.Nodes.Single(n => n.Name == "dw");
        Assert.Equal(4, depthwise.GetInt("group"));
        Assert.Equal(4, pruned.Graph.FindInitializer("dw.weight")!.Dims[0]);
        Assert.Equal(4, pruned.Graph.FindInitializer("bn.scale")!.Dims[0]);
    }

    [Fact]
    public void Concat_offsets_slice_the_consumer_columns_of_each_branch()
    {
        var model = PruneModels.Concat();
        var analysis = ChannelDependencyGraph.Analyze(model);
        Assert.Contains(analysis.Groups, g => g.Producers[0].Name == "left" && g.CanPrune);
        Assert.Contains(analysis.Groups, g => g.Producers[0].Name == "right" && g.CanPrune);
        var pruned = AssertPrunedLikeReference(model, [1, 3, 8, 8]);
        Assert.Equal(2 + 3, pruned.Graph.FindInitializer("mix.weight")!.Dims[1]);
    }

    [Fact]
    public void Mlp_hidden_neurons_are_pruned_through_matmul_bias_and_relu()
    {
        var model = PruneModels.DeadMlp();
        var pruned = AssertPrunedLikeReference(model, [1, 12]);
        Assert.Equal(8, pruned.Graph.FindInitializer("w0")!.Dims[1]);
        Assert.Equal(8, pruned.Graph.FindInitializer("b0")!.Dims[0]);
        Assert.Equal(8, pruned.Graph.FindInitializer("w1")!.Dims[0]);
    }

    [Fact]
    public void Groups_it_cannot_analyse_are_left_alone_and_reported()
    {
        var model = PruneModels.Residual();
        var graph = model.Graph;
        // Let conv1's channels also reach a Transpose that goes out of the graph.
        graph.AddNode("Transpose", ["relu1"], ["seen"], "peek").SetInts("perm", [0, 2, 3, 1]);
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("seen", OnnxDataType.Float));
        var analysis = ChannelDependencyGraph.Analyze(model);
        var blocked = analysis.Groups.Single(g => g.Producers[0].Name == "conv1");
        Assert.False(blocked.CanPrune);
        Assert.Contains("Transpose", blocked.BlockedBecause);

        var result = StructuredPruner.Prune(model, RemoveDeadHalf);
        Assert.Contains(result.LeftAlone, line => line.Contains("conv1") && line.Contains("Transpose"));
        Assert.Equal(8, result.Model.Graph.FindInitializer("conv1.weight")!.Dims[0]);
        Assert.Empty(result.Model.Graph.Validate());
        var input = Ort.RandomValues(2 * 3 * 64, seed: 5, 0, 1);
        var reference = Ort.Run(model, ("x", input, [2, 3, 8, 8]));
        var actual = Ort.Run(result.Model, ("x", input, [2, 3, 8, 8]));
        Assert.True(Ort.MaxAbsDifference(reference["y"], actual["y"]) < 1e-4);
    }

    [Fact]
    public void Transformer_ffn_neurons_are_prunable_and_attention_projections_are_reported()
    {
        var model = TestModels.TransformerBlock(seq: 4, hidden: 16, ffn: 32);
        var analysis = ChannelDependencyGraph.Analyze(model);
        var ffn = analysis.Groups.Single(g => g.Producers[0].Name == "ffn_up");
        Assert.True(ffn.CanPrune, ffn.BlockedBecause);
        Assert.Equal("ffn_down", Assert.Single(ffn.Consumers).Layer.Name);
        Assert.All(analysis.Groups.Where(g => g.Producers[0].Name is "q" or "k" or "v"), g => Assert.False(g.CanPrune));

        var result = StructuredPruner.Prune(model, RemoveDeadHalf with { Ratio = 0.25 });
        Assert.Equal(24, result.Model.Graph.FindInitializer("ffn_up.weight")!.Dims[1]);
        Assert.Equal(24, result.Model.Graph.FindInitializer("ffn_down.weight")!.Dims[0]);
        Assert.Empty(result.Model.Graph.Validate());
        var input = Ort.RandomValues(2 * 4 * 16, seed: 2);
        Assert.Equal(2 * 4 * 16, Ort.Run(result.Model, ("x", input, [2, 4, 16]))["y"].Length);
    }

    [Fact]
    public void Nothing_pruned_at_ratio_zero_gives_the_reference()
    {
        var model = PruneModels.Residual();
        var result = StructuredPruner.Prune(model, RemoveDeadHalf with { Ratio = 0 });
        var input = Ort.RandomValues(3 * 64, seed: 9, 0, 1);
        Assert.Equal(Ort.Run(model, ("x", input, [1, 3, 8, 8]))["y"], Ort.Run(result.Model, ("x", input, [1, 3, 8, 8]))["y"]);
        Assert.Equal(1.0, result.ChannelsKept);
    }

    private static OnnxModel AssertPrunedLikeReference(OnnxModel model, int[] sampleShape)
    {
        var result = StructuredPruner.Prune(model, RemoveDeadHalf);
        Assert.Empty(result.Model.Graph.Validate());
        Assert.True(result.ChannelsKept < 1.0);
        int[] shape = [3, .. sampleShape[1..]];
        int count = shape.Aggregate(1, (a, b) => a * b);
        var input = Ort.RandomValues(count, seed: 11, 0, 1);
        var reference = Ort.Run(model, ("x", input, shape))["y"];
        var actual = Ort.Run(result.Model, ("x", input, shape))["y"];
        Assert.True(Ort.MaxAbsDifference(reference, actual) < 1e-4, $"max difference {Ort.MaxAbsDifference(reference, actual)}");
        Assert.True(MacCounter.Count(result.Model).TotalMacs < MacCounter.Count(model).TotalMacs);
        return result.Model;
    }
}
