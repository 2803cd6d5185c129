using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Inference;

public enum VariantState
{
    NotLoaded,
    Ready,
    Unavailable,
}

/// <summary>What the pool knows about one variant right now.</summary>
public sealed record VariantStatus(
    string Id,
    VariantState State,
    string? Reason,
    bool IsCurrent,
    long ResidentBytes,
    TimeSpan? LoadTime,
    LatencySnapshot Latency,
    VariantManifest Manifest)
{
    /// <summary>Execution providers of the loaded session, in order of preference.</summary>
    public IReadOnlyList<string> Providers { get; init; } = [];

    /// <summary>Why a preferred execution provider is not in use, when one is not.</summary>
    public string? ProviderNote { get; init; }
}

/// <summary>
/// The bundle's ONNX Runtime sessions: loaded on first use or on pre-warm, kept within a memory
/// budget (least recently used idle variants go first), each disposed only after its requests drain.
/// </summary>
internal sealed class VariantPool : IDisposable
{
    private readonly ModelBundle _bundle;
    private readonly RuntimeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _budgetGate = new();
    private IReadOnlyList<TensorSignature>? _expectedInputs;
    private IReadOnlyList<TensorSignature>? _expectedOutputs;
    private bool _disposed;

    public VariantPool(ModelBundle bundle, RuntimeOptions options, TimeProvider time, ILogger logger)
    {
        _bundle = bundle;
        _options = options;
        _time = time;
        _logger = logger;
        if (bundle.Manifest.Inputs.Count > 0)
        {
            _expectedInputs = bundle.Manifest.Inputs;
            _expectedOutputs = bundle.Manifest.Outputs;
        }
        Slots = [.. bundle.Variants.Select(v => new Slot(v, new LatencyTracker(time, options.LatencyWindowSamples, options.LatencyWindow, options.LatencyEwmaAlpha)))];
    }

    public IReadOnlyList<Slot> Slots { get; }

    /// <summary>Inputs every variant accepts (from the manifest, or from the first variant loaded).</summary>
    public IReadOnlyList<TensorSignature> Inputs => _expectedInputs ?? [];
    public IReadOnlyList<TensorSignature> Outputs => _expectedOutputs ?? [];

    /// <summary>Current variant, never evicted by the budget.</summary>
    public Slot? Protected { get; set; }

    public Slot Find(string id) =>
        Slots.FirstOrDefault(s => s.Id == id)
        ?? throw new KeyNotFoundException($"bundle '{_bundle.Name}' has no variant '{id}'; it has {string.Join(", ", Slots.Select(s => s.Id))}");

    /// <summary>Takes a reference on the variant's session, loading it first if needed.</summary>
    /// <exception cref="VariantUnavailableException">The variant cannot be loaded.</exception>
    public LoadedVariant Acquire(Slot slot)
    {
        while (true)
        {
            if (slot.TryAcquireLoaded(out var loaded))
            {
                slot.Touch(_time.GetTimestamp());
                return loaded;
            }
            Load(slot);
        }
    }

    /// <summary>Loads (and warms) a variant unless it is loaded already.</summary>
    public void Load(Slot slot)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (slot.LoadGate)
        {
            if (slot.Unavailable is string reason)
            {
                throw new VariantUnavailableException(slot.Id, reason);
            }
            if (slot.Loaded is { IsDisposed: false })
            {
                return;
            }
            try
            {
                slot.Loaded = CreateSession(slot);
            }
            catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException or IOException or InvalidDataException)
            {
                string why = e is OnnxRuntimeException ? $"ONNX Runtime cannot load '{slot.Variant.Manifest.File}': {e.Message}" : e.Message;
                slot.Unavailable = why;
                _logger.LogWarning("Variant {Variant} is unavailable: {Reason}", slot.Id, why);
                throw new VariantUnavailableException(slot.Id, why, e);
            }
            catch (VariantUnavailableException e)
            {
                slot.Unavailable = e.Reason;
                _logger.LogWarning("Variant {Variant} is unavailable: {Reason}", slot.Id, e.Reason);
                throw;
            }
        }
        TrimToBudget(keep: slot);
    }

    public void Evict(Slot slot)
    {
        lock (slot.LoadGate)
        {
            var loaded = slot.Loaded;
            slot.Loaded = null;
            loaded?.Retire();
        }
    }

    private LoadedVariant CreateSession(Slot slot)
    {
        if (slot.Variant.Problem is string problem)
        {
            throw new VariantUnavailableException(slot.Id, problem);
        }
        long before = Environment.WorkingSet;
        long started = _time.GetTimestamp();
        // One container per variant: its sessions for other thread/spin settings reuse the weights ONNX Runtime
        // pre-packed for the first one instead of packing their own copy.
        var prepacked = new PrePackedWeightsContainer();
        InferenceSession? session = null;
        try
        {
            var knobs = _options.Knobs.Normalized;
            session = NewSession(slot, knobs, prepacked, log: true);
            long resident = Math.Max(new FileInfo(slot.Variant.ModelPath).Length, Environment.WorkingSet - before);
            var loaded = new LoadedVariant(slot.Id, session, knobs, k => NewSession(slot, k, prepacked, log: false), resident, prepacked);
            session = null; // owned by the LoadedVariant from here on
            prepacked = null;
            try
            {
                CheckSignature(slot, loaded);
                if (_options.WarmUpOnLoad)
                {
                    WarmUp(loaded);
                }
            }
            catch
            {
                loaded.Retire();
                throw;
            }
            slot.LoadTime = _time.GetElapsedTime(started);
            _logger.LogInformation("Loaded variant {Variant} in {Milliseconds:F1} ms (~{Megabytes:F1} MB resident)",
                slot.Id, slot.LoadTime.Value.TotalMilliseconds, resident / 1e6);
            return loaded;
        }
        finally
        {
            session?.Dispose();
            prepacked?.Dispose();
        }
    }

    private InferenceSession NewSession(Slot slot, ExecutionKnobs knobs, PrePackedWeightsContainer prepacked, bool log)
    {
        using var sessionOptions = SharedOrtEnvironment.CreateSessionOptions(knobs);
        foreach (string library in slot.Variant.Manifest.CustomOpLibraries)
        {
            sessionOptions.RegisterCustomOpLibrary(FindLibrary(slot, library));
        }
        var (providers, providerNote) = ExecutionProviders.Apply(sessionOptions, slot.Variant.Manifest.ExecutionProviders);
        if (log)
        {
            if (providerNote is not null)
            {
                _logger.LogWarning("Variant {Variant} {Note}", slot.Id, providerNote);
            }
            slot.Providers = providers;
            slot.ProviderNote = providerNote;
        }
        if (!_options.CpuMemoryArena)
        {
            sessionOptions.EnableCpuMemArena = false;
        }
        else if (_options.SharedCpuArena && SharedOrtEnvironment.EnsureSharedCpuArena())
        {
            sessionOptions.AddSessionConfigEntry("session.use_env_allocators", "1");
        }
        return new InferenceSession(slot.Variant.ModelPath, sessionOptions, prepacked);
    }

    private string FindLibrary(Slot slot, string library)
    {
        if (library != Path.GetFileName(library))
        {
            throw new VariantUnavailableException(slot.Id, $"custom-op library '{library}' must be a plain file name");
        }
        string[] candidates = [Path.Combine(_bundle.Directory, library), Path.Combine(AppContext.BaseDirectory, library)];
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new VariantUnavailableException(slot.Id, $"it needs the custom-op library '{library}', which is neither in the bundle nor beside the runtime");
    }

    private void CheckSignature(Slot slot, LoadedVariant loaded)
    {
        lock (_budgetGate)
        {
            _expectedInputs ??= loaded.Inputs;
            _expectedOutputs ??= loaded.Outputs;
        }
        string? problem = TensorSignature.Describe("input", _expectedInputs, loaded.Inputs)
            ?? TensorSignature.Describe("output", _expectedOutputs!, loaded.Outputs);
        if (problem is not null)
        {
            throw new VariantUnavailableException(slot.Id, $"its inputs/outputs disagree with the bundle's: {problem}");
        }
    }

    private void WarmUp(LoadedVariant loaded) => WarmUp(loaded, _options.Knobs);

    /// <summary>One run on zeros with an execution setting, so its session is made and warm before requests use it.</summary>
    public void WarmUp(LoadedVariant loaded, ExecutionKnobs knobs)
    {
        if (!_options.WarmUpOnLoad)
        {
            loaded.SessionFor(knobs);
            return;
        }
        var zeros = loaded.Inputs
            .Select(i => NamedTensor.Zeros(i.Name, i.ElementType, [.. i.Shape.Select(d => d.Size ?? 1)]))
            .ToArray();
        try
        {
            using var runOptions = new RunOptions();
            loaded.Run(zeros, runOptions, knobs);
        }
        catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException)
        {
            // Zeros are not a valid input for every model; real requests will tell.
            _logger.LogDebug(e, "Warm-up of variant {Variant} on zeros failed", loaded.Id);
        }
    }

    /// <summary>Unloads least recently used idle variants until the resident ones fit the budget.</summary>
    /// <param name="keep">A variant just loaded for a request, which must not be unloaded under it.</param>
    public void TrimToBudget(Slot? keep = null)
    {
        if (_options.MemoryBudgetBytes is not long budget)
        {
            return;
        }
        lock (_budgetGate)
        {
            while (true)
            {
                var resident = Slots.Where(s => s.Loaded is { IsDisposed: false }).ToList();
                long total = resident.Sum(s => s.Loaded?.ResidentBytes ?? 0);
                if (total <= budget)
                {
                    return;
                }
                var victim = resident
                    .Where(s => s != keep && s != Protected)
                    .OrderBy(s => s.LastUsed)
                    .FirstOrDefault();
                if (victim is null)
                {
                    _logger.LogWarning("Resident variants need {Megabytes:F1} MB, over the {Budget:F1} MB budget, and none can be unloaded",
                        total / 1e6, budget / 1e6);
                    return;
                }
                _logger.LogInformation("Unloading variant {Variant} to stay within the memory budget", victim.Id);
                Evict(victim);
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var slot in Slots)
        {
            Evict(slot);
        }
    }

    internal sealed class Slot(BundleVariant variant, LatencyTracker latency)
    {
        /// <summary>Latency per execution setting, so the knob policy sees what each setting costs this variant.</summary>
        public System.Collections.Concurrent.ConcurrentDictionary<ExecutionKnobs, LatencyTracker> KnobLatency { get; } = new();
        private long _lastUsed;
        private volatile LoadedVariant? _loaded;
        private volatile string? _unavailable;

        public BundleVariant Variant { get; } = variant;
        public string Id => Variant.Id;
        public LatencyTracker Latency { get; } = latency;
        public Lock LoadGate { get; } = new();
        public TimeSpan? LoadTime { get; set; }
        public IReadOnlyList<string> Providers { get; set; } = [];
        public string? ProviderNote { get; set; }
        public long LastUsed => Volatile.Read(ref _lastUsed);
        public LoadedVariant? Loaded { get => _loaded; set => _loaded = value; }
        public string? Unavailable { get => _unavailable ?? Variant.Problem; set => _unavailable = value; }

        public bool TryAcquireLoaded(out LoadedVariant loaded)
        {
            loaded = _loaded!;
            return loaded is not null && loaded.TryAcquire();
        }

        public void Touch(long timestamp) => Volatile.Write(ref _lastUsed, timestamp);

        public VariantState State => Unavailable is not null ? VariantState.Unavailable
            : _loaded is { IsDisposed: false } ? VariantState.Ready
            : VariantState.NotLoaded;
    }
}
