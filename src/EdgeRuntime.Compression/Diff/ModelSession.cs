using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Compression.Diff;

/// <summary>
/// A plain ONNX Runtime session over a model file or in-memory model, for the offline tools: they need
/// any output by name (including intermediate tensors added as outputs) and no variant switching.
/// </summary>
internal sealed class ModelSession : IDisposable
{
    private readonly InferenceSession _session;

    private ModelSession(InferenceSession session, string name)
    {
        _session = session;
        Name = name;
        Inputs = OrtSignatures.Read(session.InputMetadata, "input");
        Outputs = OrtSignatures.Read(session.OutputMetadata, "output");
    }

    public string Name { get; }
    public IReadOnlyList<TensorSignature> Inputs { get; }
    public IReadOnlyList<TensorSignature> Outputs { get; }

    public static ModelSession Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"model file '{path}' does not exist", path);
        }
        using var options = CreateOptions();
        return new ModelSession(Create(() => new InferenceSession(path, options), Path.GetFileName(path)), Path.GetFileName(path));
    }

    public static ModelSession Open(byte[] model, string name)
    {
        using var options = CreateOptions();
        return new ModelSession(Create(() => new InferenceSession(model, options), name), name);
    }

    /// <summary>
    /// Full optimizations and a session-owned thread pool as large as the shared one. The environment is
    /// created the runtime's way first (with global pools), so later runtime sessions in this process can
    /// use them; our own sessions never count on those pools, because whoever created the environment
    /// first (a test, a host) decided whether it has them.
    /// </summary>
    public static SessionOptions CreateOptions(GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        SharedOrtEnvironment.EnsureInitialized();
        return new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = SharedOrtEnvironment.IntraOpThreads,
        };
    }

    /// <summary>Runs the model and returns the outputs asked for (all when null), copied out of ONNX Runtime.</summary>
    public NamedTensor[] Run(IReadOnlyList<NamedTensor> inputs, IReadOnlyList<string>? outputNames = null)
    {
        var names = outputNames ?? [.. Outputs.Select(o => o.Name)];
        var values = new OrtValue[inputs.Count];
        try
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                values[i] = CreateValue(inputs[i]);
            }
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, [.. inputs.Select(i => i.Name)], values, [.. names]);
            var outputs = new NamedTensor[names.Count];
            int index = 0;
            foreach (var value in results)
            {
                var info = value.GetTensorTypeAndShape();
                var type = (ElementType)(int)info.ElementDataType;
                if (type == ElementType.String || !Enum.IsDefined(type))
                {
                    throw new NotSupportedException($"{Name}: output '{names[index]}' is a {info.ElementDataType} tensor, which cannot be compared");
                }
                outputs[index] = new NamedTensor(names[index], type, info.Shape, value.GetTensorMutableRawData().ToArray());
                index++;
            }
            return outputs;
        }
        finally
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                values[i]?.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();

    private static InferenceSession Create(Func<InferenceSession> create, string name)
    {
        try
        {
            return create();
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{name}: ONNX Runtime cannot load the model: {e.Message}", e);
        }
    }

    /// <summary>A tensor ONNX Runtime owns, filled with a copy of the input (offline tools can afford the copy).</summary>
    private static OrtValue CreateValue(NamedTensor tensor)
    {
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, (TensorElementType)(int)tensor.ElementType, tensor.Shape);
        try
        {
            tensor.Data.Span.CopyTo(value.GetTensorMutableRawData());
            return value;
        }
        catch
        {
            value.Dispose();
            throw;
        }
    }
}
