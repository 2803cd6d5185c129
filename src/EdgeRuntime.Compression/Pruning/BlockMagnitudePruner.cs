using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>Options for block pruning.</summary>
public sealed record BlockPruneOptions
{
    /// <summary>Fraction of the weights of the pruned layers to set to zero, in whole blocks.</summary>
    [Range(0.0, 0.99)]
    public double Ratio { get; init; } = 0.8;

    /// <summary>Outputs per block: eight matches SparseBlockMatMul (one AVX2 register, two NEON registers).</summary>
    [Range(1, 64)]
    public int BlockWidth { get; init; } = 8;

    public SparsityScope Scope { get; init; } = SparsityScope.Global;

    /// <summary>Node names or op types left dense.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>After pruning, refit each layer's remaining weights and bias by least squares to the teacher's outputs (needs calibration data).</summary>
    public bool Reconstruct { get; init; }

    public void Validate() => Validator.ValidateObject(this, new ValidationContext(this), validateAllProperties: true);
}

/// <summary>
/// Magnitude pruning of whole 1 x B blocks of MatMul and Gemm weights: B neighbouring outputs of one input
/// are kept or zeroed together, ranked by the blocks' mean squared weight. The zeros then come in the layout
/// the block-sparse kernel turns into full-vector multiply-adds with no gathers, at some accuracy cost against
/// unstructured pruning of the same ratio.
/// </summary>
public static class BlockMagnitudePruner
{
    public static PruneResult Prune(OnnxModel model, BlockPruneOptions options, CalibrationData? data = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.Reconstruct && data is null)
        {
            throw new ArgumentException("reconstruction after block pruning needs calibration data (--calib)");
        }
        var student = model.Clone();
        var graph = student.Graph;
        var layers = WeightLayer.FindAll(graph)
            .Where(l => l.OpType is "MatMul" or "Gemm" && !options.Exclude.Contains(l.Name) && !options.Exclude.Contains(l.OpType))
            .ToList();
        if (layers.Count == 0)
        {
            throw new ArgumentException("the model has no MatMul or Gemm layer with a constant float weight to block-prune");
        }
        var matrices = layers.Select(l => l.ReadMatrix(graph)).ToList();
        var blocks = new List<Block>();
        for (int i = 0; i < layers.Count; i++)
        {
            blocks.AddRange(Blocks(matrices[i], layers[i], i, options.BlockWidth));
        }
        if (options.Scope == SparsityScope.Global)
        {
            ZeroLowest(blocks, matrices, layers, options.BlockWidth, options.Ratio);
        }
        else
        {
            foreach (var group in blocks.GroupBy(b => b.Layer))
            {
                ZeroLowest([.. group], matrices, layers, options.BlockWidth, options.Ratio);
            }
        }
        for (int i = 0; i < layers.Count; i++)
        {
            layers[i].WriteMatrix(graph, matrices[i]);
        }
        var applied = new List<string>
        {
            $"block pruning {options.Ratio:P0} ({options.Scope.ToString().ToLowerInvariant()}, 1x{options.BlockWidth} blocks along the outputs, mean squared magnitude) of {layers.Count} layer(s)",
        };
        if (options.Reconstruct)
        {
            // Layer by layer, each seeing the inputs the already-refitted layers before it produce.
            foreach (var layer in layers)
            {
                var statistics = LayerStatistics.Collect(student, model, [new LayerRequest(layer, true, true)], data!)[0];
                LayerReconstructor.RefitMasked(graph, layer, statistics);
            }
            applied.Add("layer-wise least-squares reconstruction of the remaining weights to the teacher's outputs");
            matrices = [.. layers.Select(l => l.ReadMatrix(graph))];
        }
        var reports = new List<LayerPruneReport>();
        for (int i = 0; i < layers.Count; i++)
        {
            long zeros = matrices[i].LongCount(v => v == 0f);
            reports.Add(new LayerPruneReport(layers[i].Name, layers[i].OpType, matrices[i].Length, zeros, layers[i].Outputs, layers[i].Outputs, layers[i].Columns, layers[i].Columns));
            log?.Invoke($"{layers[i].Name}: {(double)zeros / Math.Max(1, matrices[i].Length):P1} zero in 1x{options.BlockWidth} blocks");
        }
        double sparsity = (double)reports.Sum(r => r.Zeros) / Math.Max(1, reports.Sum(r => r.Weights));
        return new PruneResult(student, applied, [], reports, sparsity, 1.0);
    }

    private readonly record struct Block(int Layer, int FirstOutput, int Column, int Width, double Score);

    private static IEnumerable<Block> Blocks(float[] matrix, WeightLayer layer, int index, int width)
    {
        for (int first = 0; first < layer.Outputs; first += width)
        {
            int w = Math.Min(width, layer.Outputs - first);
            for (int c = 0; c < layer.Columns; c++)
            {
                double sum = 0;
                for (int t = 0; t < w; t++)
                {
                    double v = matrix[(long)(first + t) * layer.Columns + c];
                    sum += v * v;
                }
                // Mean, not sum: a short last block must not look less important for being short.
                yield return new Block(index, first, c, w, sum / w);
            }
        }
    }

    private static void ZeroLowest(List<Block> blocks, List<float[]> matrices, List<WeightLayer> layers, int width, double ratio)
    {
        long total = blocks.Sum(b => (long)b.Width);
        long target = (long)Math.Round(total * ratio);
        blocks.Sort((a, b) => a.Score.CompareTo(b.Score));
        long removed = 0;
        foreach (var block in blocks)
        {
            if (removed + block.Width / 2 >= target)
            {
                break;
            }
            var matrix = matrices[block.Layer];
            int columns = layers[block.Layer].Columns;
            for (int t = 0; t < block.Width; t++)
            {
                matrix[(long)(block.FirstOutput + t) * columns + block.Column] = 0f;
            }
            removed += block.Width;
        }
    }
}
