using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Calibration;

/// <summary>
/// Runs a model that exists only in memory (an augmented copy, a candidate quantization) through the
/// runtime: it is written to a private temporary folder, removed again on dispose.
/// </summary>
internal sealed class ScratchRuntime : IDisposable
{
    private readonly string _directory;

    private ScratchRuntime(string directory, ModelRuntime runtime)
    {
        _directory = directory;
        Runtime = runtime;
    }

    public ModelRuntime Runtime { get; }

    public static ScratchRuntime Open(OnnxModel model)
    {
        string directory = Path.Combine(Path.GetTempPath(), "edgeruntime-scratch", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "model.onnx");
            model.Save(path);
            return new ScratchRuntime(directory, ModelRuntime.Open(path, new RuntimeOptions { WarmUpOnLoad = false }));
        }
        catch
        {
            Delete(directory);
            throw;
        }
    }

    /// <summary>The float32 outputs of the model on each batch, in order.</summary>
    public static List<float[]> FloatOutputs(OnnxModel model, IReadOnlyList<NamedTensor[]> batches)
    {
        using var scratch = Open(model);
        return
        [
            .. batches.SelectMany(batch => scratch.Runtime.Run(batch).Outputs
                .Where(o => o.ElementType == ElementType.Float32)
                .Select(o => o.AsSpan<float>().ToArray())),
        ];
    }

    public void Dispose()
    {
        Runtime.Dispose();
        Delete(_directory);
    }

    private static void Delete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the system's temp cleaner; the result does not depend on it.
        }
    }
}
