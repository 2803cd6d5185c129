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

    /// <summary>Whether the global pool's threads spin for work after a parallel section. Off unless asked for:
    /// at edge request rates the next run rarely comes within the spin window, so spinning burns CPU for nothing.</summary>
    public static bool GlobalPoolSpins { get; private set; }

    /// <summary>Why the global pool is not in use, when it is not.</summary>
    public static string? FallbackReason { get; private set; }

    /// <summary>Creates the environment once; later calls (with any thread count) keep the first one.</summary>
    /// <param name="intraOpThreads">Threads for the shared pool; null for one per processor.</param>
    /// <param name="spin">Let the shared pool's threads spin (busy-wait) for work.</param>
    public static void EnsureInitialized(int? intraOpThreads = null, bool spin = false)
    {
        lock (Gate)
        {
            if (_initialized)
            {
                return;
            }
            _initialized = true;
            IntraOpThreads = intraOpThreads ?? Environment.ProcessorCount;
            GlobalPoolSpins = spin;
            if (OrtEnv.IsCreated)
            {
                FallbackReason = "the ONNX Runtime environment was created before the runtime started, without a global thread pool";
                return;
            }
            using var threading = new OrtThreadingOptions
            {
                GlobalIntraOpNumThreads = IntraOpThreads,
                GlobalInterOpNumThreads = 1,
                GlobalSpinControl = spin,
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

    private static bool _sharedArena;

    /// <summary>Registers one CPU arena allocator in the environment (once), for sessions that ask for the environment's allocators.</summary>
    /// <returns>False when the environment is not ours (another component created it), so sessions keep their own arenas.</returns>
    public static bool EnsureSharedCpuArena()
    {
        EnsureInitialized();
        lock (Gate)
        {
            if (_sharedArena || !UsesGlobalThreadPool)
            {
                return _sharedArena;
            }
            // Defaults for every field (-1, and 0 for no limit): the same growth as a session's own arena.
            using var arena = new OrtArenaCfg(0, -1, -1, -1);
            using var cpu = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
            OrtEnv.Instance().CreateAndRegisterAllocator(cpu, arena);
            _sharedArena = true;
            return true;
        }
    }

    /// <summary>Session options that run on the shared pool (or a private one of the same size).</summary>
    public static SessionOptions CreateSessionOptions() => CreateSessionOptions(ExecutionKnobs.AllThreads(GlobalPoolSpins));

    /// <summary>
    /// Session options for one execution setting. One thread: a session without pool threads (the caller computes).
    /// All threads with the global pool's spin policy: the global pool. All threads with the other policy: a
    /// session-owned pool of the same size with that policy (ONNX Runtime fixes threads and spinning per pool).
    /// </summary>
    public static SessionOptions CreateSessionOptions(ExecutionKnobs knobs)
    {
        EnsureInitialized();
        knobs = knobs.Normalized;
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (knobs.IsSingleThread)
        {
            options.IntraOpNumThreads = 1;
            options.InterOpNumThreads = 1;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        }
        else if (UsesGlobalThreadPool && knobs.Spin == GlobalPoolSpins)
        {
            options.DisablePerSessionThreads();
        }
        else
        {
            options.IntraOpNumThreads = IntraOpThreads;
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", knobs.Spin ? "1" : "0");
            options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        }
        return options;
    }
}
