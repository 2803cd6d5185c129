using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Inference;

/// <summary>
/// ONNX Runtime's environment is one per process. We create it with one global intra-op thread pool
/// so that many resident variants share threads instead of each session owning a pool of its own.
/// </summary>
public static class SharedOrtEnvironment
{
    private static readonly Lock Gate = new();
    private static bool _initialized;

    /// <summary>True when sessions run on the global thread pool; false when another component created
    /// the environment first without one, and sessions fall back to their own pools.</summary>
    public static bool UsesGlobalThreadPool { get; private set; }

    public static int IntraOpThreads { get; private set; }

    /// <summary>Why the global pool is not in use, when it is not.</summary>
    public static string? FallbackReason { get; private set; }

    /// <summary>Creates the environment once; later calls (with any thread count) keep the first one.</summary>
    /// <param name="intraOpThreads">Threads for the shared pool; null for one per processor.</param>
    public static void EnsureInitialized(int? intraOpThreads = null)
    {
        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }
            _initialized = true;
            IntraOpThreads = intraOpThreads ?? Environment.ProcessorCount;
            if (OrtEnv.IsCreated)
            {
                FallbackReason = "the ONNX Runtime environment was created before the runtime started, without a global thread pool";
                return;
            }
            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = IntraOpThreads,
                GlobalInterOpNumThreads = 1,
            };
            var options = new EnvironmentCreationOptions
            {
                logId = "edgeruntime",
                logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
                threadOptions = threading,
            };
            try
            {
                OrtEnv.CreateInstanceWithOptions(ref options);
                UsesGlobalThreadPool = true;
            }
            catch (OnnxRuntimeException e)
            {
                // Another component created the environment between the check and here (a plain InferenceSession does).
                FallbackReason = $"the ONNX Runtime environment already existed: {e.Message}";
            }
        }
    }

    /// <summary>Session options that run on the shared pool (or a private one of the same size).</summary>
    public static SessionOptions CreateSessionOptions()
    {
        EnsureInitialized();
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (UsesGlobalThreadPool)
        {
            options.DisablePerSessionThreads();
        }
        else
        {
            options.IntraOpNumThreads = IntraOpThreads;
        }
        return options;
    }
}
