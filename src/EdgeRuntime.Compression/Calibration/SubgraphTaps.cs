using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Calibration;

/// <summary>
/// Makes tensors computed inside If/Loop/Scan bodies observable: ONNX Runtime only hands out main-graph
/// outputs, so each body tensor is flattened and threaded out as an extra output of its body and of the
/// control-flow node, level by level, up to a main-graph output.
/// </summary>
/// <remarks>
/// Instrumenting was chosen over the alternatives because it keeps the model's own control flow: the
/// statistics come from the branch the data really takes and from every Loop/Scan iteration, with the
/// outer-scope values the body really sees. Hoisting a body's nodes out only works for If and changes
/// what runs; specialising (running each branch as a model of its own) needs the branch's outer inputs
/// computed separately and cannot follow a loop's carried state. The values are flattened to 1-D so a
/// Loop/Scan can stack them whatever their shape per iteration, and the branch of an If that does not
/// compute the tensor returns an empty float tensor: a branch the data never takes yields no values.
/// </remarks>
internal static class SubgraphTaps
{
    /// <summary>
    /// Adds outputs to <paramref name="model"/> (a scratch copy, edited in place) so every tensor in
    /// <paramref name="tensors"/> can be read; returns tensor name → the main-graph output holding its values.
    /// </summary>
    public static Dictionary<string, string> Expose(OnnxModel model, IEnumerable<string> tensors)
    {
        var main = model.Graph;
        var scopes = ScopedGraph.All(main);
        var definedIn = new Dictionary<string, ScopedGraph>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            var proto = scope.Graph.Proto;
            foreach (string name in proto.Input.Select(i => i.Name).Concat(proto.Initializer.Select(i => i.Name)).Concat(proto.Node.SelectMany(n => n.Output)))
            {
                if (name.Length > 0)
                {
                    definedIn.TryAdd(name, scope);
                }
            }
        }
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        var existing = main.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string tensor in tensors)
        {
            if (!definedIn.TryGetValue(tensor, out var scope))
            {
                throw new InvalidOperationException($"tensor '{tensor}' is defined nowhere in the model");
            }
            string outer = tensor;
            while (!scope.IsMain)
            {
                outer = ExposeOneLevel(scope, outer, main);
                scope = scope.Parent!;
            }
            if (existing.Add(outer))
            {
                main.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(outer, OnnxDataType.Float));
            }
            outputs[tensor] = outer;
        }
        main.Invalidate();
        return outputs;
    }

    /// <summary>Threads <paramref name="name"/> of a body out through its control-flow node; returns the node's new output.</summary>
    private static string ExposeOneLevel(ScopedGraph body, string name, OnnxGraph names)
    {
        var node = body.Owner!;
        string flat = Flatten(body.Graph, name, names);
        string outer = names.UniqueName($"{name}_tap");
        switch (node.OpType)
        {
            case "If":
                foreach (var branch in body.Parent!.Children().Where(c => ReferenceEquals(c.Owner, node)))
                {
                    if (ReferenceEquals(branch.Graph.Proto, body.Graph.Proto))
                    {
                        branch.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(flat, OnnxDataType.Float));
                    }
                    else
                    {
                        // The other branch returns no values, so the If has the same outputs whichever branch runs.
                        string empty = names.UniqueName($"{name}_tap_empty");
                        var value = TensorData.Create(Array.Empty<float>(), 0).ToProto("");
                        branch.Graph.AddNode("Constant", [], [empty], names.UniqueName($"{empty}_Constant")).SetTensor("value", value);
                        branch.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(empty, OnnxDataType.Float));
                    }
                }
                break;
            case "Loop" or "Scan":
                // Appended after the existing outputs: a new scan output, stacked over the iterations.
                body.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(flat, OnnxDataType.Float));
                if (node.OpType == "Scan")
                {
                    foreach (string attribute in new[] { "scan_output_axes", "scan_output_directions" })
                    {
                        if (node.HasAttribute(attribute))
                        {
                            node.SetInts(attribute, [.. node.GetInts(attribute), 0]);
                        }
                    }
                }
                break;
            default:
                throw new NotSupportedException($"cannot observe tensors inside the bodies of {node.OpType} '{node.Name}'");
        }
        node.Output.Add(outer);
        body.Graph.Invalidate();
        body.Parent!.Graph.Invalidate();
        return outer;
    }

    private static string Flatten(OnnxGraph graph, string name, OnnxGraph names)
    {
        string shape = names.UniqueName($"{name}_tap_shape");
        graph.AddInitializer(TensorData.Vector([-1L]).ToProto(shape));
        string flat = names.UniqueName($"{name}_tap_flat");
        graph.AddNode("Reshape", [name, shape], [flat], names.UniqueName($"{name}_tap_Reshape"));
        return flat;
    }
}
