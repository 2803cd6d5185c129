using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Inference;

/// <summary>
/// Appends the execution providers a variant prefers, where the loaded ONNX Runtime build has them;
/// the rest fall back to CPU with a stated reason.
/// </summary>
internal static class ExecutionProviders
{
    private static readonly Dictionary<string, string> FullNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cpu"] = "CPUExecutionProvider",
        ["cuda"] = "CUDAExecutionProvider",
        ["tensorrt"] = "TensorrtExecutionProvider",
        ["xnnpack"] = "XnnpackExecutionProvider",
        ["nnapi"] = "NnapiExecutionProvider",
        ["coreml"] = "CoreMLExecutionProvider",
        ["qnn"] = "QNNExecutionProvider",
        ["dnnl"] = "DnnlExecutionProvider",
        ["openvino"] = "OpenVINOExecutionProvider",
        ["rocm"] = "ROCMExecutionProvider",
    };

    private static readonly Lazy<string[]> Available = new(() => OrtEnv.Instance().GetAvailableProviders());

    /// <summary>Adds what can be added; returns the providers in use and a note on any that were not.</summary>
    public static (IReadOnlyList<string> Active, string? Note) Apply(SessionOptions options, IReadOnlyList<string> preferred)
    {
        var active = new List<string>();
        var notes = new List<string>();
        foreach (string wanted in preferred)
        {
            string name = FullNames.GetValueOrDefault(wanted, wanted);
            if (name == "CPUExecutionProvider" || active.Contains(name))
            {
                continue;
            }
            if (!Available.Value.Contains(name))
            {
                notes.Add($"{name} is not in this ONNX Runtime build (it has {string.Join(", ", Available.Value)})");
                continue;
            }
            try
            {
                Append(options, name);
                active.Add(name);
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or NotSupportedException)
            {
                notes.Add($"{name} failed to start: {e.Message}");
            }
        }
        active.Add("CPUExecutionProvider");
        return (active, notes.Count == 0 ? null : "falls back to CPU: " + string.Join("; ", notes));
    }

    private static void Append(SessionOptions options, string name)
    {
        switch (name)
        {
            case "CUDAExecutionProvider": options.AppendExecutionProvider_CUDA(0); break;
            case "TensorrtExecutionProvider": options.AppendExecutionProvider_Tensorrt(0); break;
            case "DnnlExecutionProvider": options.AppendExecutionProvider_Dnnl(0); break;
            case "ROCMExecutionProvider": options.AppendExecutionProvider_ROCm(0); break;
            case "OpenVINOExecutionProvider": options.AppendExecutionProvider_OpenVINO(""); break;
            case "NnapiExecutionProvider": options.AppendExecutionProvider_Nnapi(); break;
            case "CoreMLExecutionProvider": options.AppendExecutionProvider_CoreML(); break;
            case "XnnpackExecutionProvider": options.AppendExecutionProvider("XNNPACK", []); break;
            case "QNNExecutionProvider": options.AppendExecutionProvider("QNN", []); break;
            default: throw new NotSupportedException($"the runtime does not know how to start {name}");
        }
    }
}
