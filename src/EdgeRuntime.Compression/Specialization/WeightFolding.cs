using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Specialization;

/// <summary>
/// Folds weights that an exporter left as small computations on constants (Concat/Slice/Unsqueeze/Transpose
/// chains over Constant nodes, e.g. LSTM gate blocks reordered at run time) into initializers, in the main graph
/// and every body, so the quantizers see constant weights. Each node is evaluated by ONNX Runtime itself.
/// </summary>
public static class WeightFolding
{
    /// <summary>Ops that only rearrange or convert constant data: folding them never changes what the model computes.</summary>
    private static readonly HashSet<string> FoldableOps =
    [
        "Constant", "Concat", "Slice", "Unsqueeze", "Squeeze", "Reshape", "Transpose", "Gather", "Split", "Cast", "Identity",
        "Flatten", "Expand", "Tile", "Neg", "Add", "Sub", "Mul", "Div",
    ];

    private const long MaxElements = 64L << 20;

    /// <returns>How many nodes became initializers.</returns>
    public static int Fold(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        int folded = 0;
        foreach (var scope in ScopedGraph.All(model.Graph))
        {
            var graph = scope.Graph;
            foreach (var node in graph.TopologicalOrder())
            {
                if (!FoldableOps.Contains(node.OpType) || node.Domain is not ("" or "ai.onnx") || node.Output.Count == 0
                    || node.Output.Any(o => o.Length == 0 || graph.IsGraphOutput(o)))
                {
                    continue;
                }
                // A Constant node already is a constant; only fold it when it feeds a fold (kept simple: fold every one).
                if (!node.Input.All(i => i.Length == 0 || Constant(scope, i) is not null))
                {
                    continue;
                }
                if (ModelSpecializer.TryFold(graph, model, node, name => Constant(scope, name), MaxElements))
                {
                    folded++;
                }
            }
            graph.RemoveUnusedInitializers();
        }
        foreach (var scope in ScopedGraph.All(model.Graph).Reverse())
        {
            scope.Graph.Invalidate();
            scope.Graph.RemoveUnusedInitializers();
        }
        return folded;
    }

    /// <summary>The constant a name resolves to from this scope (initializer or Constant node, here or outside), as a tensor.</summary>
    private static TensorProto? Constant(ScopedGraph scope, string name)
    {
        if (scope.InitializerOwner(name) is { } owner)
        {
            return owner.FindInitializer(name);
        }
        for (var s = scope; s is not null; s = s.Parent)
        {
            if (s.Graph.GetProducer(name) is { } producer)
            {
                return producer is { OpType: "Constant", Domain: "" or "ai.onnx" } && producer.FindAttribute("value") is { T: { } tensor } ? tensor : null;
            }
            if (s.Graph.IsGraphInput(name))
            {
                return null;
            }
        }
        return null;
    }
}
