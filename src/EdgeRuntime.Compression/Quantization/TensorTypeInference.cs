using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>
/// Element types of every tensor in a model's main graph, so quantizers touch only float activations. Models
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
            foreach (var (name, metadata) in session.OutputMetadata)
            {
                types[name] = metadata.OnnxValueType == OnnxValueType.ONNX_TYPE_TENSOR
                    ? (OnnxDataType)(int)metadata.ElementDataType
                    : OnnxDataType.Undefined;
            }
        }
        return types;
    }
}
