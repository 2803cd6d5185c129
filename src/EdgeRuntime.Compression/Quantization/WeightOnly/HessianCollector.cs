using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// Runs calibration batches through the float model with the inputs of the layers to quantize made
/// graph outputs, and accumulates each input's x·xᵀ. Only one batch of activations is alive at a time.
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
        var fetched = new List<string>();
        foreach (string name in inputs.Keys)
        {
            if (graph.IsGraphInput(name))
            {
                continue;
            }
            if (!graph.IsGraphOutput(name))
            {
                graph.Outputs.Add(new ValueInfoProto { Name = name });
            }
            fetched.Add(name);
        }
        var accumulators = inputs.ToDictionary(p => p.Key, p => new HessianAccumulator(p.Value), StringComparer.Ordinal);
        using var session = ModelSession.Open(probe.ToBytes(), "calibration probe");
        int batches = 0;
        foreach (var batch in data.Batches())
        {
            NamedTensor[] outputs;
            try
            {
                outputs = fetched.Count == 0 ? [] : session.Run(batch, fetched);
            }
            catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
            {
                throw new InvalidDataException($"calibration data {data.Description} does not fit the model: {e.Message}", e);
            }
            foreach (var (name, accumulator) in accumulators)
            {
                var tensor = outputs.FirstOrDefault(o => o.Name == name) ?? batch.FirstOrDefault(t => t.Name == name)
                    ?? throw new InvalidDataException($"calibration batch has no tensor '{name}'");
                if (tensor.ElementType != ElementType.Float32)
                {
                    throw new InvalidDataException($"layer input '{name}' is {tensor.ElementType.ToName()}, GPTQ needs float32 activations");
                }
                accumulator.Add(tensor.AsSpan<float>());
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
