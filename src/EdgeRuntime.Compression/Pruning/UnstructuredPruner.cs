using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Weight-level pruning of Conv, Gemm and MatMul weights: magnitude (L1/L2) or second-order
/// saliency, with one global threshold or the same ratio per layer, optionally with the OBS weight
/// update and a least-squares refit of what remains. Shapes do not change, so files compress
/// better but dense kernels run no faster.
/// </summary>
public static class UnstructuredPruner
{
    public static PruneResult Prune(OnnxModel model, UnstructuredPruneOptions options, CalibrationData? data = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.NeedsCalibration && data is null)
        {
            throw new ArgumentException("second-order pruning and reconstruction need calibration data (--calib)");
        }
        var teacher = model;
        var student = model.Clone();
        var graph = student.Graph;
        var layers = WeightLayer.FindAll(graph)
            .Where(l => !options.Exclude.Contains(l.Name) && !options.Exclude.Contains(l.OpType))
            .ToList();
        if (layers.Count == 0)
        {
            throw new ArgumentException("the model has no Conv, Gemm or MatMul layer with a float weight to prune");
        }
        var applied = new List<string>();
        var warnings = new List<string>();

        IReadOnlyList<GramAccumulator>? denseStatistics = null;
        if (options.Criterion == ImportanceCriterion.SecondOrder || (options.SecondOrderUpdate && options.Scope == SparsityScope.Global))
        {
            log?.Invoke($"collecting X^T X of {layers.Count} layer input(s) on {data!.Description}");
            denseStatistics = LayerStatistics.Collect(student, null, [.. layers.Select(l => new LayerRequest(l, false, false))], data!, options.WorkDirectory);
        }
        var ratios = LayerRatios(graph, layers, options, denseStatistics);

        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var weights = layer.ReadMatrix(graph);
            if (options.SecondOrderUpdate)
            {
                // Later layers see the inputs the already-pruned layers produce, so their Hessians are taken afresh.
                var statistics = i == 0 && denseStatistics is not null
                    ? denseStatistics[0]
                    : LayerStatistics.Collect(student, null, [new LayerRequest(layer, false, false)], data!, options.WorkDirectory)[0];
                SecondOrderSolver.Prune(weights, layer.Outputs, layer.Columns, statistics.Gram, ratios[i], options.Damping, options.BlockSize);
                log?.Invoke($"{layer.Name}: {ratios[i]:P1} pruned with the OBS update");
            }
            else
            {
                var scores = Scores(weights, layer, options.Criterion, denseStatistics?[i]);
                ZeroLowest(weights, scores, ratios[i]);
                log?.Invoke($"{layer.Name}: {ratios[i]:P1} pruned by {options.Criterion}");
            }
            layer.WriteMatrix(graph, weights);
            if (options.Reconstruct)
            {
                var statistics = LayerStatistics.Collect(student, teacher, [new LayerRequest(layer, true, true)], data!, options.WorkDirectory)[0];
                LayerReconstructor.RefitMasked(graph, layer, statistics);
            }
        }

        string how = options.SecondOrderUpdate ? "second-order (OBS update)" : $"{options.Criterion} magnitude";
        applied.Add($"unstructured pruning {options.Ratio:P0} ({options.Scope.ToString().ToLowerInvariant()}, {how}) of {layers.Count} layer(s)");
        if (options.Reconstruct)
        {
            applied.Add("layer-wise least-squares reconstruction of the remaining weights to the teacher's outputs");
        }
        var reports = layers.Select(l =>
        {
            var w = l.ReadMatrix(graph);
            return new LayerPruneReport(l.Name, l.OpType, w.Length, w.LongCount(v => v == 0f), l.Outputs, l.Outputs, l.Columns, l.Columns);
        }).ToList();
        double sparsity = (double)reports.Sum(r => r.Zeros) / reports.Sum(r => r.Weights);
        return new PruneResult(student, applied, warnings, reports, sparsity, 1.0);
    }

    /// <summary>Per-layer pruning ratios: the ratio itself per layer, or what one global threshold on the criterion gives each layer.</summary>
    internal static double[] LayerRatios(OnnxGraph graph, IReadOnlyList<WeightLayer> layers, UnstructuredPruneOptions options, IReadOnlyList<GramAccumulator>? statistics)
    {
        if (options.Scope == SparsityScope.PerLayer)
        {
            return [.. layers.Select(_ => options.Ratio)];
        }
        // OBS saliency is scale-free only within a layer; across layers the diagonal form w^2·H_jj (the
        // error added to the layer's output) is comparable, so the global threshold uses it.
        var all = new List<(float Score, int Layer)>();
        for (int i = 0; i < layers.Count; i++)
        {
            var weights = layers[i].ReadMatrix(graph);
            var criterion = statistics is null ? options.Criterion : ImportanceCriterion.SecondOrder;
            foreach (float score in Scores(weights, layers[i], criterion, statistics?[i]))
            {
                all.Add((score, i));
            }
        }
        all.Sort((a, b) => a.Score.CompareTo(b.Score));
        int prune = (int)Math.Floor(all.Count * options.Ratio);
        var counts = new long[layers.Count];
        for (int i = 0; i < prune; i++)
        {
            counts[all[i].Layer]++;
        }
        return [.. layers.Select((l, i) => (double)counts[i] / ((long)l.Outputs * l.Columns))];
    }

    private static float[] Scores(float[] weights, WeightLayer layer, ImportanceCriterion criterion, GramAccumulator? statistics)
    {
        var scores = new float[weights.Length];
        int n = layer.Columns;
        for (int i = 0; i < weights.Length; i++)
        {
            float w = weights[i];
            scores[i] = criterion switch
            {
                ImportanceCriterion.L1 => Math.Abs(w),
                ImportanceCriterion.L2 => w * w,
                _ => (float)(w * (double)w * statistics!.Gram[(i % n) * statistics.Dimension + (i % n)] / Math.Max(1, statistics.Rows)),
            };
        }
        return scores;
    }

    private static void ZeroLowest(float[] weights, float[] scores, double ratio)
    {
        int prune = (int)Math.Round(weights.Length * ratio);
        if (prune == 0)
        {
            return;
        }
        var order = Enumerable.Range(0, weights.Length).ToArray();
        Array.Sort((float[])scores.Clone(), order);
        for (int i = 0; i < prune; i++)
        {
            weights[order[i]] = 0f;
        }
    }
}
