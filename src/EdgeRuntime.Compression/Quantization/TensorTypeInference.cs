using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>
/// Element types of every tensor in a model, If/Loop/Scan bodies included, so quantizers touch only float activations. Models
/// rarely declare the types of their intermediate tensors, and rules would guess wrong on ops they do not know,
/// so we let ONNX Runtime infer them: it loads a copy with every node output made a graph output (optimizations
/// off, so no node is folded away) and reports each output's type.
/// </summary>
internal static class TensorTypeInference
{
    /// <returns>Tensor name to element type; non-tensor values (sequences, optionals) map to <see cref="OnnxDataType.Undefined"/>.</returns>
    /// <exception cref="InvalidDataException">ONNX Runtime cannot load the model.</exception>
    public static Dictionary<string, OnnxDataType> Infer(OnnxModel model)
    {
        var probe = model.Clone();
        if (probe.HasExternalData)
        {
            probe.InternalizeExternalData();
        }
        var graph = probe.Graph;
        var types = new Dictionary<string, OnnxDataType>(StringComparer.Ordinal);
        foreach (var initializer in graph.Initializers)
        {
            types[initializer.Name] = (OnnxDataType)initializer.DataType;
        }
        foreach (var input in graph.Inputs)
        {
            types.TryAdd(input.Name, input.GetElementType());
        }
        var declared = new HashSet<string>(graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            foreach (string output in node.Output)
            {
                if (output.Length > 0 && declared.Add(output) && !graph.IsInitializer(output))
                {
                    graph.Outputs.Add(new ValueInfoProto { Name = output });
                }
            }
        }
        using var options = ModelSession.CreateOptions(GraphOptimizationLevel.ORT_DISABLE_ALL);
        InferenceSession session;
        try
        {
            session = new InferenceSession(probe.ToBytes(), options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load the model, so its tensor types are unknown: {e.Message}", e);
        }
        using (session)
        {
            Record(session, types);
        }
        foreach (var scope in ScopedGraph.All(probe.Graph).Where(s => !s.IsMain))
        {
            InferBody(probe, scope.Graph.Proto, types);
        }
        return types;
    }

    private static void Record(InferenceSession session, Dictionary<string, OnnxDataType> types)
    {
        foreach (var (name, metadata) in session.OutputMetadata)
        {
            types[name] = metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR
                ? (OnnxDataType)(int)metadata.ElementDataType
                : OnnxDataType.Undefined;
        }
    }

    /// <summary>
    /// A body's tensors cannot be graph outputs of the model, so the body is loaded as a model of its own: what it
    /// reads from enclosing graphs becomes typed inputs (types already known, enclosing graphs come first), every
    /// node output an output. Bodies whose inputs are untyped stay unknown (their tensors are then left alone).
    /// </summary>
    private static void InferBody(OnnxModel model, GraphProto body, Dictionary<string, OnnxDataType> types)
    {
        var standalone = model.Clone();
        var graph = standalone.Graph.Proto;
        graph.Node.Clear();
        graph.Input.Clear();
        graph.Output.Clear();
        graph.Initializer.Clear();
        graph.ValueInfo.Clear();
        graph.Node.AddRange(body.Node.Select(n => n.Clone()));
        graph.Initializer.AddRange(body.Initializer.Select(i => i.Clone()));
        graph.Input.AddRange(body.Input.Select(i => i.Clone()));
        foreach (var info in body.Input)
        {
            types.TryAdd(info.Name, info.GetElementType());
        }
        foreach (var initializer in body.Initializer)
        {
            types[initializer.Name] = (OnnxDataType)initializer.DataType;
        }
        foreach (string outer in ScopedGraph.OuterReads(body))
        {
            if (!types.TryGetValue(outer, out var type) || type == OnnxDataType.Undefined)
            {
                return;
            }
            graph.Input.Add(OnnxValueInfo.CreateTensorOfUnknownShape(outer, type));
        }
        var declared = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in body.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length > 0 && declared.Add(output))
                {
                    graph.Output.Add(new ValueInfoProto { Name = output });
                }
            }
        }
        if (graph.Output.Count == 0)
        {
            return;
        }
        using var options = ModelSession.CreateOptions(GraphOptimizationLevel.ORT_DISABLE_ALL);
        try
        {
            using var session = new InferenceSession(standalone.ToBytes(), options);
            Record(session, types);
        }
        catch (OnnxRuntimeException)
        {
            // Left unknown: a pass never converts a tensor whose type it does not know.
        }
    }
}
