using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>A pass found nothing to change: the model would come out as it went in, so no variant is made.</summary>
public sealed class NothingToQuantizeException(string message) : NotSupportedException(message);

/// <summary>One-line explanations of why a pass found nothing to do, naming where the candidate ops are.</summary>
public static class QuantizationDiagnosis
{
    /// <summary>
    /// Why none of <paramref name="opTypes"/> was quantized: none exist, where they are (main graph or
    /// which body) and the first reason a pass gave for keeping one in float.
    /// </summary>
    public static string Explain(OnnxModel model, IReadOnlyList<string> opTypes, IReadOnlyList<string> reasons)
    {
        ArgumentNullException.ThrowIfNull(model);
        var found = ScopedGraph.All(model.Graph)
            .SelectMany(scope => scope.Graph.Nodes.Where(n => opTypes.Contains(n.OpType) && n.Domain is "" or "ai.onnx").Select(n => (scope.Location, n.OpType)))
            .ToList();
        string ops = string.Join(", ", opTypes.SkipLast(1)) + (opTypes.Count > 1 ? $" or {opTypes[^1]}" : opTypes[0]);
        if (found.Count == 0)
        {
            return $"the model has no {ops} node, in the main graph or in any If/Loop/Scan body";
        }
        var where = found.GroupBy(f => f.Location).Select(g => $"{g.Count()} in {g.Key}");
        string first = reasons.Count > 0 ? $"; e.g. {reasons[0]}" : "; none has a constant float weight";
        return $"{found.Count} {ops} node(s) ({string.Join(", ", where)}) but none could be quantized{first}";
    }
}
