using EdgeRuntime.Bundles;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Packing;

/// <summary>What the graph itself says about a variant: compute, parameters, sparsity and precision.</summary>
public sealed record ModelFacts(long? Macs, bool MacsComplete, long Parameters, double Sparsity, string Precision, IReadOnlyList<string> Notes)
{
    private static readonly HashSet<string> StaticQuantOps = ["QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "QGemm"];
    private static readonly HashSet<string> DynamicQuantOps = ["DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "DynamicQuantizeMatMul"];
    private static readonly HashSet<string> WeightOnlyQuantOps = ["MatMulNBits", "GatherBlockQuantized"];

    public static ModelFacts Read(string modelPath)
    {
        var model = OnnxModel.Load(modelPath);
        var notes = new List<string>();
        GraphCost? cost = null;
        try
        {
            cost = MacCounter.Count(model);
            if (!cost.IsComplete)
            {
                notes.Add($"MACs are a lower bound: {cost.Unresolved.Count} node(s) could not be sized");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            notes.Add($"MACs not counted: {e.Message}");
        }
        return new ModelFacts(cost?.TotalMacs, cost?.IsComplete ?? false, cost?.ParameterCount ?? CountParameters(model.Graph),
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

    private static long CountParameters(OnnxGraph graph) => graph.Initializers.Sum(Elements);

    private static long Elements(global::Onnx.TensorProto tensor) => tensor.Dims.Aggregate(1L, (a, b) => a * b);
}
