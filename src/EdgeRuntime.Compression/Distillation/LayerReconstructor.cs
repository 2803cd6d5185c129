using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Numerics;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>
/// Layer-wise reconstruction without a training loop (ThiNet / channel-pruning style): refits a
/// layer's weights and bias by ridge least squares so that, fed the student's own inputs, it
/// reproduces the teacher's outputs of that layer on calibration data.
/// </summary>
public static class LayerReconstructor
{
    /// <summary>Relative ridge damping (times the mean diagonal of X^T X) used unless told otherwise.</summary>
    public const double DefaultDamping = 1e-3;

    /// <summary>Refits every weight of the layer (all its columns stay). Statistics must hold targets and a bias column.</summary>
    /// <param name="anchored">
    /// Pull the solution towards the layer's current weights and bias rather than towards zero: with few
    /// calibration rows per column (a layer after global pooling sees one row per sample) plain ridge
    /// shrinks the directions the data leave open, anchored ridge leaves them as they were.
    /// </param>
    public static void RefitDense(OnnxGraph graph, WeightLayer layer, GramAccumulator statistics, double damping = DefaultDamping, bool anchored = false)
    {
        Check(layer, statistics);
        int d = statistics.Dimension, m = statistics.Targets, n = layer.Columns;
        var solution = (double[])statistics.Cross!.Clone();
        if (anchored)
        {
            var current = layer.ReadMatrix(graph);
            var currentBias = layer.ReadBias(graph);
            var anchor = new double[d * m];
            for (int o = 0; o < m; o++)
            {
                for (int j = 0; j < n; j++)
                {
                    anchor[j * m + o] = current[o * n + j];
                }
                anchor[n * m + o] = currentBias?[o] ?? 0;
            }
            DenseLinearAlgebra.AnchoredRidgeSolve(statistics.Gram, d, solution, m, damping, anchor);
        }
        else
        {
            DenseLinearAlgebra.RidgeSolve(statistics.Gram, d, solution, m, damping);
        }
        var weights = new float[m * n];
        var bias = new float[m];
        for (int o = 0; o < m; o++)
        {
            for (int j = 0; j < n; j++)
            {
                weights[o * n + j] = (float)solution[j * m + o];
            }
            bias[o] = (float)solution[n * m + o];
        }
        layer.WriteMatrix(graph, weights);
        if (!layer.WriteBias(graph, bias))
        {
            throw new InvalidOperationException($"layer {layer.Name} has no bias to refit");
        }
    }

    /// <summary>
    /// Refits only the weights that are not zero, row by row, so an unstructured sparsity pattern is
    /// kept; the bias is refitted too when the layer can hold one.
    /// </summary>
    public static void RefitMasked(OnnxGraph graph, WeightLayer layer, GramAccumulator statistics, double damping = DefaultDamping)
    {
        Check(layer, statistics);
        int d = statistics.Dimension, m = statistics.Targets, n = layer.Columns;
        var weights = layer.ReadMatrix(graph);
        var bias = layer.ReadBias(graph) ?? new float[m];
        bool canHoldBias = layer.BiasName is not null || layer.OpType is "Conv" or "Gemm";
        Parallel.For(0, m, o =>
        {
            var kept = new List<int>();
            for (int j = 0; j < n; j++)
            {
                if (weights[o * n + j] != 0f)
                {
                    kept.Add(j);
                }
            }
            if (canHoldBias)
            {
                kept.Add(n);
            }
            int k = kept.Count;
            if (k == 0)
            {
                return;
            }
            var gram = new double[k * k];
            var rhs = new double[k];
            for (int a = 0; a < k; a++)
            {
                for (int b = 0; b < k; b++)
                {
                    gram[a * k + b] = statistics.Gram[kept[a] * d + kept[b]];
                }
                rhs[a] = statistics.Cross![kept[a] * m + o];
            }
            DenseLinearAlgebra.RidgeSolve(gram, k, rhs, 1, damping);
            for (int a = 0; a < k; a++)
            {
                if (kept[a] == n)
                {
                    bias[o] = (float)rhs[a];
                }
                else
                {
                    weights[o * n + kept[a]] = (float)rhs[a];
                }
            }
        });
        layer.WriteMatrix(graph, weights);
        if (canHoldBias)
        {
            layer.WriteBias(graph, bias);
        }
    }

    private static void Check(WeightLayer layer, GramAccumulator statistics)
    {
        if (statistics.Cross is null || !statistics.WithBias)
        {
            throw new ArgumentException("reconstruction needs statistics with teacher targets and a bias column");
        }
        if (statistics.Columns != layer.Columns || statistics.Targets != layer.Outputs)
        {
            throw new ArgumentException($"layer {layer.Name} is {layer.Outputs}x{layer.Columns}, statistics are for {statistics.Targets}x{statistics.Columns}");
        }
    }
}
