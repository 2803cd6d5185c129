using EdgeRuntime.Bundles;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Packing;

/// <summary>What the graph itself says about a variant: compute, parameters, sparsity and precision.</summary>
public sealed record ModelFacts(long? Macs, bool MacsComplete, long Parameters, double Sparsity, string Precision, IReadOnlyList<string> Notes)
{
    private static readonly HashSet<string> StaticQuantOps = ["QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "QGemm"];
    private static readonly HashSet<string> DynamicQuantOps = ["DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul"];
    private static readonly HashSet<string> WeightOnlyQuantOps = ["MatMulNBits", "GatherBlockQuantized"];

    /// <param name="inputShapes">Sizes of the inputs' symbolic dimensions (the calibration shape); without them those count as 1 and a note says so.</param>
    public static ModelFacts Read(string modelPath, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        var model = OnnxModel.Load(modelPath);
        var notes = new List<string>();
        GraphCost? cost = null;
        var unsized = model.Graph.RuntimeInputs
            .Where(i => inputShapes?.ContainsKey(i.Name) != true && i.GetShape() is { } shape && shape.Skip(1).Any(d => !d.IsKnown))
            .Select(i => i.Name).ToList();
        if (unsized.Count > 0)
        {
            notes.Add($"MACs counted with 1 for the symbolic dimensions of {string.Join(", ", unsized)} (no calibration shape recorded)");
        }
        try
        {
            cost = MacCounter.Count(model, inputShapes);
            if (!cost.IsComplete)
            {
                notes.Add($"MACs are a lower bound: {cost.Unresolved.Count} node(s) could not be sized");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            notes.Add($"MACs not counted: {e.Message}");
        }
        // Weights held in Constant nodes (PaddlePaddle's exporter) are parameters too.
        return new ModelFacts(cost?.TotalMacs, cost?.IsComplete ?? false, Math.Max(cost?.ParameterCount ?? 0, CountParameters(model.Graph)),
            WeightSparsity(model.Graph), GuessPrecision(model.Graph), notes);
    }

    /// <summary>Fraction of exact zeros among float weights of rank 2 and more (biases and norms excluded).</summary>
    public static double WeightSparsity(OnnxGraph graph)
    {
        long zeros = 0, total = 0;
        foreach (var initializer in graph.Initializers)
        {
            if (initializer.Dims.Count < 2 || (OnnxDataType)initializer.DataType is not (OnnxDataType.Float or OnnxDataType.Float16))
            {
                continue;
            }
            var data = graph.GetInitializerData(initializer.Name);
            switch (data.Values)
            {
                case float[] floats:
                    zeros += floats.Count(v => v == 0f);
                    total += floats.Length;
                    break;
                case Half[] halves:
                    zeros += halves.Count(v => v == Half.Zero);
                    total += halves.Length;
                    break;
            }
        }
        return total == 0 ? 0 : (double)zeros / total;
    }

    public static string GuessPrecision(OnnxGraph graph)
    {
        var ops = graph.Nodes.Select(n => n.OpType).ToHashSet();
        if (ops.Overlaps(WeightOnlyQuantOps) || graph.Initializers.Any(i => (OnnxDataType)i.DataType is OnnxDataType.Int4 or OnnxDataType.UInt4))
        {
            return Precisions.Int4Weight;
        }
        if (ops.Overlaps(DynamicQuantOps))
        {
            return Precisions.Int8Dynamic;
        }
        if (ops.Overlaps(StaticQuantOps))
        {
            return Precisions.Int8Static;
        }
        long halfBytes = graph.Initializers.Where(i => (OnnxDataType)i.DataType == OnnxDataType.Float16).Sum(i => Elements(i));
        long floatBytes = graph.Initializers.Where(i => (OnnxDataType)i.DataType == OnnxDataType.Float).Sum(i => Elements(i));
        return halfBytes > floatBytes ? Precisions.Fp16 : Precisions.Fp32;
    }

    private static long CountParameters(OnnxGraph graph) =>
        graph.Initializers.Sum(Elements) + graph.Nodes.Where(n => n.OpType == "Constant").Sum(n => n.GetTensor("value") is { } t && t.Dims.Count >= 1 ? Elements(t) : 0);

    /// <summary>
    /// Fraction of the reference's output channels (of Conv, Gemm and MatMul layers with constant weights,
    /// matched by name) that the variant still has: what structured pruning kept, read from the graphs.
    /// Null when no layer matches (another architecture, or weights the reader cannot see).
    /// </summary>
    public static double? ChannelsKept(string variantPath, string referencePath)
    {
        static Dictionary<string, long> Outputs(string path)
        {
            var model = OnnxModel.Load(path);
            model.Graph.ConvertConstantNodes();
            return Compression.Pruning.WeightLayer.FindAll(model.Graph).GroupBy(l => l.Name).ToDictionary(g => g.Key, g => (long)g.First().Outputs, StringComparer.Ordinal);
        }
        var reference = Outputs(referencePath);
        var variant = Outputs(variantPath);
        long before = 0, after = 0;
        foreach (var (name, outputs) in reference)
        {
            if (variant.TryGetValue(name, out long kept))
            {
                before += outputs;
                after += kept;
            }
        }
        return before == 0 ? null : (double)after / before;
    }

    private static long Elements(global::Onnx.TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);
}
