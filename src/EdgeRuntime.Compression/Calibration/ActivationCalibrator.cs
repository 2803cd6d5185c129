using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Calibration;

/// <summary>What calibration found for each observed tensor.</summary>
public sealed class CalibrationResult(
    IReadOnlyDictionary<string, TensorRange> ranges,
    IReadOnlyDictionary<string, TensorRange> observed,
    IReadOnlyDictionary<string, double[]> channelMeans,
    int samples,
    IReadOnlyList<string>? unseen = null)
{
    /// <summary>Tensors the data never reached (inside a branch or loop body that never ran); they have no range.</summary>
    public IReadOnlyList<string> Unseen { get; } = unseen ?? [];
    /// <summary>The range each tensor is quantized over.</summary>
    public IReadOnlyDictionary<string, TensorRange> Ranges { get; } = ranges;
    /// <summary>The smallest and largest values calibration saw.</summary>
    public IReadOnlyDictionary<string, TensorRange> Observed { get; } = observed;
    /// <summary>Per-channel means of the tensors asked for, for bias correction.</summary>
    public IReadOnlyDictionary<string, double[]> ChannelMeans { get; } = channelMeans;
    public int Samples { get; } = samples;
}

/// <summary>
/// Observes intermediate tensors of a float model on calibration data: the model is copied with those
/// tensors added as graph outputs (tensors inside If/Loop/Scan bodies threaded out by <see cref="SubgraphTaps"/>)
/// and run batch by batch in ONNX Runtime (twice for histogram methods).
/// Tensors in <c>exactRange</c> keep the full range seen, whatever the method.
/// </summary>
public static class ActivationCalibrator
{
    public static CalibrationResult Calibrate(
        OnnxModel model,
        IReadOnlyCollection<string> tensors,
        CalibrationData data,
        CalibrationOptions options,
        IReadOnlyCollection<string>? channelMeansFor = null,
        IReadOnlyCollection<string>? exactRange = null,
        bool allowUnseen = false)
    {
        options.Validate();
        if (data.SampleCount == 0)
        {
            throw new ArgumentException("calibration needs at least one sample");
        }
        var augmented = model.Clone();
        var taps = SubgraphTaps.Expose(augmented, tensors);
        var statistics = tensors.ToDictionary(t => t, t => new TensorStatistics(t));
        var byOutput = tensors.ToDictionary(t => taps[t], t => statistics[t]);
        var wantMeans = channelMeansFor?.ToHashSet() ?? [];

        using (var scratch = ScratchRuntime.Open(augmented))
        {
            Pass(scratch.Runtime, data, byOutput, (stats, tensor) =>
                stats.AddMinMax(tensor.AsSpan<float>(), tensor.Shape, wantMeans.Contains(stats.Name)));
            if (options.Method != CalibrationMethod.MinMax)
            {
                foreach (var stats in statistics.Values)
                {
                    stats.StartHistogram(options.Bins);
                }
                Pass(scratch.Runtime, data, byOutput, (stats, tensor) => stats.AddHistogram(tensor.AsSpan<float>()));
            }
        }
        var unseen = statistics.Values.Where(s => !s.Seen).Select(s => s.Name).ToList();
        if (unseen.Count > 0 && !allowUnseen)
        {
            throw new InvalidOperationException($"calibration produced no values for {string.Join(", ", unseen.Take(5))}");
        }
        foreach (string name in unseen)
        {
            statistics.Remove(name);
        }
        return new CalibrationResult(
            statistics.ToDictionary(p => p.Key, p => exactRange?.Contains(p.Key) == true
                ? p.Value.Range(options with { Method = CalibrationMethod.MinMax })
                : p.Value.Range(options)),
            statistics.ToDictionary(p => p.Key, p => new TensorRange(p.Value.Min, p.Value.Max)),
            statistics.Where(p => p.Value.ChannelMeans is not null).ToDictionary(p => p.Key, p => p.Value.ChannelMeans!),
            data.SampleCount,
            unseen);
    }

    private static void Pass(ModelRuntime runtime, CalibrationData data, Dictionary<string, TensorStatistics> statistics, Action<TensorStatistics, NamedTensor> add)
    {
        // Outputs land in buffers reused across batches: memory stays flat however many samples stream through.
        var buffers = new Dictionary<string, byte[]>();
        Memory<byte> Allocate(string name, ElementType type, long[] shape, int length)
        {
            if (!buffers.TryGetValue(name, out var buffer) || buffer.Length < length)
            {
                buffers[name] = buffer = new byte[length];
            }
            return buffer;
        }
        foreach (var batch in data.Batches())
        {
            var result = runtime.Run(batch, Allocate);
            foreach (var output in result.Outputs)
            {
                if (!statistics.TryGetValue(output.Name, out var stats))
                {
                    continue;
                }
                if (output.ElementType != ElementType.Float32)
                {
                    throw new InvalidOperationException($"tensor '{output.Name}' is {output.ElementType.ToName()}; only float32 activations are calibrated");
                }
                add(stats, output);
            }
        }
    }
}
