using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Compression.Sparse;

namespace EdgeRuntime.Compression.Tests;

public sealed class PruneBlockTests
{
    [Theory]
    [InlineData(SparsityScope.Global)]
    [InlineData(SparsityScope.PerLayer)]
    public void Block_pruning_zeroes_whole_blocks_of_eight_outputs_up_to_the_ratio(SparsityScope scope)
    {
        // 37 outputs: the last block is five wide.
        var model = TestModels.Mlp([64, 96, 37], seed: 12, useGemm: true);
        var result = BlockMagnitudePruner.Prune(model, new BlockPruneOptions { Ratio = 0.75, Scope = scope });

        Assert.InRange(result.Sparsity, 0.73, 0.77);
        foreach (var layer in WeightLayer.FindAll(result.Model.Graph))
        {
            var matrix = layer.ReadMatrix(result.Model.Graph);
            double zeros = (double)matrix.Count(v => v == 0f) / matrix.Length;
            // Every block of up to eight outputs at one input is all zero or has no zero (the random weights have none of their own).
            for (int first = 0; first < layer.Outputs; first += 8)
            {
                for (int c = 0; c < layer.Columns; c++)
                {
                    var block = Enumerable.Range(first, Math.Min(8, layer.Outputs - first)).Select(o => matrix[o * layer.Columns + c]).ToList();
                    Assert.True(block.All(v => v == 0f) || block.All(v => v != 0f), $"{layer.Name}: block at outputs {first}.., input {c} is partly zero");
                }
            }
            Assert.True(SparseWeights.BlockSparsity(matrix, layer.Outputs, layer.Columns) > 0);
            if (scope == SparsityScope.PerLayer)
            {
                Assert.InRange(zeros, 0.72, 0.78);
            }
        }
        Assert.Contains("1x8 blocks", Assert.Single(result.Applied));
    }

    [Fact]
    public void Block_pruning_keeps_the_largest_blocks()
    {
        var model = TestModels.Mlp([16, 8], seed: 13);
        var layer = WeightLayer.FindAll(model.Graph).Single();
        var matrix = layer.ReadMatrix(model.Graph);
        for (int o = 0; o < 8; o++)
        {
            matrix[o * 16 + 5] = 10f; // input 5 feeds every output strongly
        }
        layer.WriteMatrix(model.Graph, matrix);

        var pruned = BlockMagnitudePruner.Prune(model, new BlockPruneOptions { Ratio = 0.9 });
        var kept = WeightLayer.FindAll(pruned.Model.Graph).Single().ReadMatrix(pruned.Model.Graph);
        Assert.All(Enumerable.Range(0, 8), o => Assert.Equal(10f, kept[o * 16 + 5]));
        Assert.Equal(8 * 2, kept.Count(v => v != 0f)); // 10% of 16 blocks rounds to two kept blocks
    }

    [Fact]
    public void Bad_options_and_models_without_matrix_layers_are_refused()
    {
        Assert.Throws<System.ComponentModel.DataAnnotations.ValidationException>(() =>
            BlockMagnitudePruner.Prune(TestModels.Mlp([16, 8]), new BlockPruneOptions { Ratio = 1.5 }));
        var e = Assert.Throws<ArgumentException>(() =>
            BlockMagnitudePruner.Prune(TestModels.Mlp([16, 8], useGemm: true), new BlockPruneOptions { Exclude = ["Gemm"] }));
        Assert.Contains("no MatMul or Gemm layer", e.Message);
        Assert.Throws<ArgumentException>(() =>
            BlockMagnitudePruner.Prune(TestModels.Mlp([16, 8]), new BlockPruneOptions { Reconstruct = true }));
    }
}
