using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Inference;

/// <summary>Reads a session's inputs and outputs into our signature type.</summary>
public static class OrtSignatures
{
    public static IReadOnlyList<TensorSignature> Read(IReadOnlyDictionary<string, NodeMetadata> metadata, string what)
    {
        var signatures = new List<TensorSignature>(metadata.Count);
        foreach (var (name, node) in metadata)
        {
            if (node.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR)
            {
                throw new NotSupportedException($"{what} '{name}' is a {node.OnnxValueType}; only tensor inputs and outputs are supported");
            }
            var type = (ElementType)(int)node.ElementDataType;
            if (!Enum.IsDefined(type))
            {
                throw new NotSupportedException($"{what} '{name}' has element type {node.ElementDataType}, which the runtime does not handle");
            }
            var dims = new TensorDimension[node.Dimensions.Length];
            for (int i = 0; i < dims.Length; i++)
            {
                dims[i] = node.Dimensions[i] >= 0
                    ? TensorDimension.Fixed(node.Dimensions[i])
                    : TensorDimension.Symbolic(node.SymbolicDimensions.ElementAtOrDefault(i) ?? "?");
            }
            signatures.Add(new TensorSignature(name, type, dims));
        }
        return signatures;
    }

    /// <summary>Loads a model file just to read its signature, with the custom-op libraries (paths) it needs.</summary>
    public static (IReadOnlyList<TensorSignature> Inputs, IReadOnlyList<TensorSignature> Outputs) ReadFromFile(string modelPath, IReadOnlyList<string>? customOpLibraries = null)
    {
        using var options = SharedOrtEnvironment.CreateSessionOptions();
        foreach (string library in customOpLibraries ?? [])
        {
            options.RegisterCustomOpLibrary(library);
        }
        using var session = new InferenceSession(modelPath, options);
        return (Read(session.InputMetadata, "input"), Read(session.OutputMetadata, "output"));
    }
}
