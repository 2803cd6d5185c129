using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// Accumulates XᵀX of the inputs of the layers to quantize over calibration batches. The float model gets,
/// per input X, a Reshape to [rows, K], a Transpose and a MatMul whose [K, K] result is a graph output, so
/// ONNX Runtime's own GEMM computes each batch's Gram matrix and only K×K numbers per input leave the session.
/// </summary>
internal static class HessianCollector
{
    /// <param name="inputs">Activation tensor name to its row length K.</param>
    public static Dictionary<string, HessianAccumulator> Collect(OnnxModel model, IReadOnlyDictionary<string, int> inputs, CalibrationData data)
    {
        var probe = model.Clone();
        if (probe.HasExternalData)
        {
            probe.InternalizeExternalData();
        }
        var graph = probe.Graph;
        var grams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, k) in inputs)
        {
            string shape = graph.UniqueName($"{name}_rows_shape");
            string rows = graph.UniqueName($"{name}_rows");
            string transposed = graph.UniqueName($"{name}_rows_transposed");
            string gram = graph.UniqueName($"{name}_gram");
            graph.AddInitializer(TensorData.Vector(new long[] { -1, k }).ToProto(shape));
            graph.AddNode("Reshape", [name, shape], [rows], graph.UniqueName($"{name}_gram_Reshape"));
            graph.AddNode("Transpose", [rows], [transposed], graph.UniqueName($"{name}_gram_Transpose")).SetInts("perm", [1, 0]);
            graph.AddNode("MatMul", [transposed, rows], [gram], graph.UniqueName($"{name}_gram_MatMul"));
            graph.Outputs.Add(OnnxValueInfo.CreateTensor(gram, OnnxDataType.Float, k, k));
            grams[name] = gram;
        }
        var accumulators = inputs.ToDictionary(p => p.Key, p => new HessianAccumulator(p.Value), StringComparer.Ordinal);
        var names = grams.Values.ToList();
        using var session = ModelSession.Open(probe.ToBytes(), "calibration probe");
        int batches = 0;
        foreach (var batch in data.Batches())
        {
            NamedTensor[] outputs;
            try
            {
                outputs = session.Run(batch, names);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
            {
                throw new InvalidDataException($"calibration data {data.Description} does not fit the model: {e.Message}", e);
            }
            foreach (var (name, accumulator) in accumulators)
            {
                accumulator.AddGram(outputs[names.IndexOf(grams[name])].AsSpan<float>());
            }
            batches++;
        }
        if (batches == 0)
        {
            throw new ArgumentException($"calibration data {data.Description} holds no samples");
        }
        return accumulators;
    }
}
