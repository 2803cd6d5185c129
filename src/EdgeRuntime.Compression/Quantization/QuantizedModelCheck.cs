using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>The last step of every quantizer: the result is a valid graph that ONNX Runtime loads, or an error that says what to exclude.</summary>
internal static class QuantizedModelCheck
{
    /// <param name="producer">What made the graph, for the validation message ("int8-dynamic", "fp16 conversion").</param>
    /// <param name="mode">The mode's name, for the load message ("int8-dynamic", "fp16").</param>
    /// <param name="remedy">What the user can do when ONNX Runtime refuses the result.</param>
    public static void Verify(OnnxModel model, string producer, string mode, string remedy = "exclude the node it names")
    {
        var problems = model.Graph.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"{producer} produced an invalid graph: {string.Join("; ", problems.Select(p => p.ToString()))}");
        }
        try
        {
            using var session = ModelSession.Open(model.ToBytes(), $"{mode} model");
        }
        catch (InvalidDataException e)
        {
            throw new InvalidOperationException($"the {mode} model does not load in ONNX Runtime ({e.Message}); {remedy}", e);
        }
    }
}
