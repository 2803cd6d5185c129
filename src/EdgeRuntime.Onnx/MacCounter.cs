using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Estimates multiply-accumulates per sample by propagating shapes through the main graph.
/// </summary>
/// <remarks>
/// MACs come from Conv, ConvTranspose, Gemm and MatMul (and their quantized forms), plus one per
/// element for BatchNormalization, which is a scale-and-shift at inference. Elementwise,
/// pooling and data-movement ops cost nothing here. Symbolic or unknown input dims count as 1.
/// Unknown ops never throw: they are listed in <see cref="GraphCost.Unresolved"/>, their MACs
/// (and those of nodes that depend on their shapes) count as 0 and the result is a lower bound.
/// </remarks>
public static class MacCounter
{
    public static GraphCost Count(OnnxModel model, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Count(model.Graph, model.OpsetFor("") ?? OnnxModel.DefaultOpsetVersion, inputShapes);
    }

    /// <param name="graph">The graph to analyse.</param>
    /// <param name="opsetVersion">Standard-domain opset, which decides attribute-or-input forms of some ops.</param>
    /// <param name="inputShapes">Concrete shapes for graph inputs, overriding their declared shapes.</param>
    public static GraphCost Count(OnnxGraph graph, long opsetVersion, IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var inference = new ShapeInference(opsetVersion);
        long parameterCount = 0;
        long parameterBytes = 0;
        foreach (var initializer in graph.Initializers)
        {
            long[] dims = [.. initializer.Dims];
            long count = SafeElementCount(dims);
            inference.SetShape(initializer.Name, dims);
            inference.TrackTensorValues(initializer.Name, initializer, graph.ExternalDataDirectory);
            parameterCount += count;
            parameterBytes += OnnxDataTypes.ByteSize((OnnxDataType)initializer.DataType, count) ?? initializer.RawData.Length;
        }

        foreach (var input in graph.RuntimeInputs)
        {
            if (inputShapes is not null && inputShapes.TryGetValue(input.Name, out var given))
            {
                inference.SetShape(input.Name, given);
            }
            else if (input.GetShape() is { } declared)
            {
                var dims = new long[declared.Count];
                for (int i = 0; i < dims.Length; i++)
                {
                    dims[i] = declared[i].ValueOr(1);
                }

                inference.SetShape(input.Name, dims);
            }
        }

        var unresolved = new List<UnresolvedNode>();
        List<NodeProto> order;
        if (!NodeOrdering.TrySort(graph.Nodes, out order, out var cycle))
        {
            var ordered = new HashSet<NodeProto>(order, ReferenceEqualityComparer.Instance);
            foreach (var node in graph.Nodes)
            {
                if (!ordered.Contains(node))
                {
                    unresolved.Add(new UnresolvedNode(node, "it is on or after a cycle in the graph"));
                }
            }
        }

        var costs = new List<NodeCost>(graph.Nodes.Count);
        long total = 0;
        foreach (var node in order)
        {
            try
            {
                long macs = inference.Infer(node);
                total = checked(total + macs);
                var shape = node.Output.Count > 0 ? inference.ShapeOf(node.Output[0]) : null;
                costs.Add(new NodeCost(node, macs, shape ?? []));
            }
            catch (Exception ex) when (ex is UnresolvedShapeException or OnnxFormatException or ArgumentException
                or IndexOutOfRangeException or OverflowException or InvalidOperationException or NotSupportedException)
            {
                string reason = ex is UnresolvedShapeException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
                unresolved.Add(new UnresolvedNode(node, reason));
                costs.Add(new NodeCost(node, 0, null));
            }
        }

        return new GraphCost(total, costs, unresolved, parameterCount, parameterBytes, inference.Shapes);
    }

    private static long SafeElementCount(long[] dims)
    {
        try
        {
            return TensorShapes.ElementCount(dims);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            return 0;
        }
    }
}
