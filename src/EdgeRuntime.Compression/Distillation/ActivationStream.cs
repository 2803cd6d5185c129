using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Distillation;

/// <summary>One model to observe and the intermediate tensors wanted from it.</summary>
public sealed record ObservedModel(OnnxModel Model, IReadOnlyCollection<string> Tensors);

/// <summary>
/// Streams calibration batches through one or more models (a teacher and its pruned student) with
/// extra graph outputs and hands the observed tensors of each batch to a callback. Output buffers are
/// reused from batch to batch, so memory stays flat however many samples stream through: callers
/// accumulate statistics (X^T X, X^T Y, channel moments), never activations.
/// </summary>
public static class ActivationStream
{
    /// <param name="onBatch">Called once per batch with, per model, its observed tensors by name; valid only during the call.</param>
    /// <param name="workDirectory">Where the augmented models are written for ONNX Runtime (the system temp directory when null).</param>
    public static void Run(
        IReadOnlyList<ObservedModel> models,
        CalibrationData data,
        Action<IReadOnlyList<IReadOnlyDictionary<string, NamedTensor>>> onBatch,
        string? workDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(data);
        if (data.SampleCount == 0)
        {
            throw new ArgumentException("calibration needs at least one sample");
        }
        string directory = Path.Combine(workDirectory ?? Path.GetTempPath(), "edgeruntime-activations", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var runtimes = new List<ModelRuntime>();
        var aliases = new List<Dictionary<string, string>>();
        try
        {
            for (int i = 0; i < models.Count; i++)
            {
                string path = Path.Combine(directory, $"observed-{i}.onnx");
                var (augmented, alias) = Augment(models[i]);
                aliases.Add(alias);
                augmented.Save(path);
                runtimes.Add(ModelRuntime.Open(path, new RuntimeOptions { WarmUpOnLoad = false }));
            }
            var buffers = models.Select(_ => new Dictionary<string, byte[]>()).ToArray();
            var views = new Dictionary<string, NamedTensor>[models.Count];
            foreach (var batch in data.Batches())
            {
                for (int i = 0; i < runtimes.Count; i++)
                {
                    var own = buffers[i];
                    Memory<byte> Allocate(string name, ElementType type, long[] shape, int length)
                    {
                        if (!own.TryGetValue(name, out var buffer) || buffer.Length < length)
                        {
                            own[name] = buffer = new byte[length];
                        }
                        return buffer.AsMemory(0, length);
                    }
                    var result = runtimes[i].Run(batch, Allocate);
                    var wanted = models[i].Tensors;
                    var alias = aliases[i];
                    views[i] = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
                    foreach (var output in result.Outputs)
                    {
                        string name = alias.GetValueOrDefault(output.Name, output.Name);
                        if (wanted.Contains(name))
                        {
                            views[i][name] = output;
                        }
                    }
                    foreach (string name in wanted.Where(n => !views[i].ContainsKey(n)))
                    {
                        throw new InvalidOperationException($"model {i} produced no tensor '{name}'");
                    }
                    foreach (var tensor in views[i].Values.Where(t => t.ElementType != ElementType.Float32))
                    {
                        throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.ElementType.ToName()}; only float32 activations can be observed");
                    }
                }
                onBatch(views);
            }
        }
        finally
        {
            foreach (var runtime in runtimes)
            {
                runtime.Dispose();
            }
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static (OnnxModel Model, Dictionary<string, string> Aliases) Augment(ObservedModel observed)
    {
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var augmented = observed.Model.Clone();
        var graph = augmented.Graph;
        var existing = graph.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in observed.Tensors.Where(t => !existing.Contains(t)))
        {
            if (graph.GetProducer(name) is null && !graph.IsGraphInput(name))
            {
                throw new ArgumentException($"the model has no tensor '{name}' to observe");
            }
            if (graph.IsGraphInput(name))
            {
                // A graph input cannot also be an output; route it through Identity.
                string copy = graph.UniqueName($"{name}_observed");
                graph.AddNode("Identity", [name], [copy]);
                graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(copy, OnnxDataType.Float));
                aliases[copy] = name;
                continue;
            }
            graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape(name, OnnxDataType.Float));
        }
        return (augmented, aliases);
    }
}
