using System.Collections.Concurrent;
using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Inference;

/// <summary>
/// Supplies the memory an output is written into (at least <paramref name="byteLength"/> bytes), so a
/// caller running many batches can reuse buffers instead of allocating new ones per request.
/// </summary>
public delegate Memory<byte> OutputAllocator(string name, ElementType type, long[] shape, int byteLength);

/// <summary>A change of the variant that serves new requests.</summary>
public sealed record VariantSwitch(string From, string To, DateTimeOffset At);

/// <summary>
/// CPU a runtime's inferences used since it opened: runs, the CPU time of the calling threads during them, and
/// the whole process's CPU time (which also holds ONNX Runtime's pool threads, spinning included, and anything
/// else the process does). Two snapshots give CPU-seconds per inference over an interval.
/// </summary>
public sealed record CpuUsage(long Inferences, TimeSpan CallerCpu, TimeSpan ProcessCpu, TimeSpan Wall)
{
    /// <summary>Process CPU per inference between an earlier snapshot and this one; null without runs.</summary>
    public double? ProcessCpuSecondsPerInference(CpuUsage earlier)
    {
        long runs = Inferences - earlier.Inferences;
        return runs > 0 ? (ProcessCpu - earlier.ProcessCpu).TotalSeconds / runs : null;
    }

    public double? CallerCpuSecondsPerInference(CpuUsage earlier)
    {
        long runs = Inferences - earlier.Inferences;
        return runs > 0 ? (CallerCpu - earlier.CallerCpu).TotalSeconds / runs : null;
    }
}

/// <summary>
/// Serves inferences from a bundle of variants and switches between them while requests run.
/// Thread-safe: any number of callers may run and switch concurrently. A switch makes new requests
/// use the new variant at once; requests already running on the old one finish on it.
/// </summary>
public sealed class ModelRuntime : IDisposable
{
    private const int MaxPooledRunOptions = 64;

    private readonly VariantPool _pool;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentBag<RunOptions> _runOptions = [];
    private readonly Lock _switchGate = new();
    private readonly RuntimeOptions _options;
    private readonly long _openedAt;
    private volatile VariantPool.Slot _current;
    private volatile KnobsHolder _knobs;
    private long _inferences;
    private long _callerCpuTicks;
    private int _disposed;

    private ModelRuntime(ModelBundle bundle, RuntimeOptions options, TimeProvider time, ILogger logger)
    {
        Bundle = bundle;
        _time = time;
        _logger = logger;
        _options = options;
        _pool = new VariantPool(bundle, options, time, logger);
        _current = _pool.Slots[0];
        _knobs = new KnobsHolder(options.Knobs.Normalized);
        _openedAt = time.GetTimestamp();
    }

    private sealed record KnobsHolder(ExecutionKnobs Value);

    /// <summary>Threads and spinning new requests run with (unless a request names its own).</summary>
    public ExecutionKnobs Knobs => _knobs.Value;

    /// <summary>Raised after <see cref="SetKnobs"/> changed the setting, on the thread that changed it.</summary>
    public event Action<ExecutionKnobs, ExecutionKnobs>? KnobsChanged;

    public ModelBundle Bundle { get; }

    /// <summary>The variant new requests run on.</summary>
    public string CurrentVariant => _current.Id;

    public IReadOnlyList<TensorSignature> Inputs => _pool.Inputs;
    public IReadOnlyList<TensorSignature> Outputs => _pool.Outputs;

    /// <summary>Raised after each switch, on the thread that switched.</summary>
    public event Action<VariantSwitch>? Switched;

    /// <summary>Opens a bundle, loads the initial variant (and, by default, checks every other one).</summary>
    /// <exception cref="BundleException">No variant of the bundle can serve.</exception>
    public static ModelRuntime Open(ModelBundle bundle, RuntimeOptions? options = null, TimeProvider? time = null, ILogger? logger = null)
    {
        options ??= new RuntimeOptions();
        options.ValidateOrThrow();
        SharedOrtEnvironment.EnsureInitialized(options.IntraOpThreads, options.Knobs is { IsSingleThread: false, Spin: true });
        var runtime = new ModelRuntime(bundle, options, time ?? TimeProvider.System, logger ?? NullLogger.Instance);
        try
        {
            runtime.Start(options);
            return runtime;
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    public static ModelRuntime Open(string bundleOrModelPath, RuntimeOptions? options = null, TimeProvider? time = null, ILogger? logger = null) =>
        Open(ModelBundle.OpenPath(bundleOrModelPath), options, time, logger);

    private void Start(RuntimeOptions options)
    {
        string preferred = options.InitialVariant ?? Bundle.Manifest.ReferenceVariant;
        if (options.InitialVariant is not null)
        {
            _pool.Find(options.InitialVariant); // unknown id: fail loudly rather than serve something else
        }
        var order = _pool.Slots.OrderBy(s => s.Id == preferred ? 0 : 1).ToList();
        VariantPool.Slot? initial = null;
        foreach (var slot in order)
        {
            if (initial is not null && (!options.ValidateAllVariantsOnOpen || options.StandbyOnly))
            {
                break;
            }
            try
            {
                _pool.Load(slot);
                if (initial is null)
                {
                    initial = slot;
                    _current = slot;
                    _pool.Protected = slot;
                }
            }
            catch (VariantUnavailableException)
            {
                // Logged by the pool; the variant reports itself unavailable.
            }
        }
        if (initial is not null && options.StandbyOnly)
        {
            KeepStandby();
        }
        _pool.TrimToBudget();
        if (initial is null)
        {
            throw new BundleException(
                $"bundle '{Bundle.Name}' has no variant that can serve: " +
                string.Join("; ", _pool.Slots.Select(s => $"{s.Id}: {s.Unavailable}")));
        }
        if (initial.Id != preferred)
        {
            _logger.LogWarning("Serving variant {Variant} because {Preferred} is unavailable", initial.Id, preferred);
        }
    }

    /// <summary>Runs one inference on the current variant, on the caller's thread.</summary>
    /// <exception cref="InvalidInputException">The inputs do not fit the model.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the run.</exception>
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken = default) =>
        Run(inputs, allocateOutputs: null, cancellationToken);

    /// <summary>Runs one inference on the current variant, writing outputs into memory from <paramref name="allocateOutputs"/>.</summary>
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, OutputAllocator? allocateOutputs, CancellationToken cancellationToken = default) =>
        Run(inputs, knobs: null, allocateOutputs, cancellationToken);

    /// <summary>Runs one inference on the current variant with the given threads and spinning (null: the runtime's <see cref="Knobs"/>).</summary>
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, ExecutionKnobs? knobs, OutputAllocator? allocateOutputs = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        VariantPool.Slot slot;
        LoadedVariant loaded;
        while (true)
        {
            slot = _current;
            if (slot.TryAcquireLoaded(out loaded))
            {
                break;
            }
            if (slot == _current)
            {
                loaded = _pool.Acquire(slot);
                break;
            }
        }
        return RunOn(slot, loaded, inputs, knobs ?? Knobs, allocateOutputs, cancellationToken);
    }

    /// <summary>Runs one inference on a named variant (loading it if needed), whatever the current one is.</summary>
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, string variantId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var slot = _pool.Find(variantId);
        return RunOn(slot, _pool.Acquire(slot), inputs, Knobs, null, cancellationToken);
    }

    /// <summary>Runs one inference on the thread pool. The run itself is CPU-bound; use <see cref="Run(IReadOnlyList{NamedTensor}, CancellationToken)"/>
    /// from a worker that may block.</summary>
    public Task<InferenceResult> RunAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(inputs, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    public Task<InferenceResult> RunAsync(IReadOnlyList<NamedTensor> inputs, string variantId, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(inputs, variantId, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    private InferenceResult RunOn(VariantPool.Slot slot, LoadedVariant loaded, IReadOnlyList<NamedTensor> inputs, ExecutionKnobs knobs, OutputAllocator? allocateOutputs, CancellationToken cancellationToken)
    {
        knobs = knobs.Normalized;
        var runOptions = RentRunOptions();
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((RunOptions)state!).Terminate = true, runOptions)
            : default;
        long started = _time.GetTimestamp();
        var cpuBefore = CpuClock.Thread();
        try
        {
            var outputs = loaded.Run(inputs, runOptions, knobs, allocateOutputs);
            var elapsed = _time.GetElapsedTime(started);
            var cpu = CpuClock.Thread() - cpuBefore;
            Interlocked.Increment(ref _inferences);
            Interlocked.Add(ref _callerCpuTicks, cpu.Ticks);
            slot.Latency.Record(elapsed);
            slot.KnobLatency.GetOrAdd(knobs, _ => new LatencyTracker(_time, _options.LatencyWindowSamples, _options.LatencyWindow, _options.LatencyEwmaAlpha)).Record(elapsed);
            return new InferenceResult(slot.Id, outputs, elapsed) { CallerCpuTime = cpu, Knobs = knobs };
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"inference on variant '{slot.Id}' was cancelled", e, cancellationToken);
        }
        catch (Exception e) when (e is not InvalidInputException)
        {
            slot.Latency.RecordFailure();
            throw;
        }
        finally
        {
            // Dispose waits for a running callback, so the flag is final before the options are reused.
            registration.Dispose();
            loaded.Release();
            ReturnRunOptions(runOptions);
        }
    }

    /// <summary>Makes new requests use <paramref name="variantId"/>, loading and warming it first.</summary>
    /// <exception cref="VariantUnavailableException">The variant cannot be loaded; the current one stays.</exception>
    public void SwitchTo(string variantId)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var target = _pool.Find(variantId);
        _pool.Load(target);
        VariantSwitch change;
        lock (_switchGate)
        {
            var previous = _current;
            if (previous == target)
            {
                return;
            }
            _current = target;
            _pool.Protected = target;
            change = new VariantSwitch(previous.Id, target.Id, _time.GetUtcNow());
        }
        if (_options.StandbyOnly)
        {
            KeepStandby();
        }
        _pool.TrimToBudget();
        _logger.LogDebug("Switched from {From} to {To}", change.From, change.To);
        Switched?.Invoke(change);
    }

    /// <summary>
    /// Makes new requests run with these threads and spinning. The current variant's session for the setting is made
    /// (and warmed) first, so requests never wait for it; requests already running finish with their setting.
    /// </summary>
    public void SetKnobs(ExecutionKnobs knobs)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        knobs = knobs.Normalized;
        PrepareKnobs(_current.Id, knobs);
        ExecutionKnobs previous;
        lock (_switchGate)
        {
            previous = _knobs.Value;
            if (previous == knobs)
            {
                return;
            }
            _knobs = new KnobsHolder(knobs);
        }
        _logger.LogDebug("Execution knobs {From} -> {To}", previous, knobs);
        KnobsChanged?.Invoke(previous, knobs);
    }

    /// <summary>Loads the next lighter variant of the current one and unloads every other idle one (<see cref="RuntimeOptions.StandbyOnly"/>).</summary>
    private void KeepStandby()
    {
        var current = _current;
        var next = NextLighter(current);
        if (next is not null)
        {
            try
            {
                _pool.Load(next);
            }
            catch (VariantUnavailableException)
            {
                // Logged by the pool; a switch to it will say so.
            }
        }
        foreach (var slot in _pool.Slots)
        {
            if (slot != current && slot != next && slot.Loaded is not null)
            {
                _pool.Evict(slot);
            }
        }
    }

    /// <summary>The variant after <paramref name="current"/> on the ladder (quality descending, then the bundle's order) that can serve.</summary>
    private VariantPool.Slot? NextLighter(VariantPool.Slot current)
    {
        var ladder = _pool.Slots.Select((slot, index) => (Slot: slot, Index: index))
            .OrderByDescending(p => Governance.AdaptiveController.QualityOf(p.Slot.Variant.Manifest))
            .ThenBy(p => p.Index)
            .Select(p => p.Slot)
            .ToList();
        return ladder.Skip(ladder.IndexOf(current) + 1).FirstOrDefault(s => s.Unavailable is null);
    }

    /// <summary>Makes a variant's session for an execution setting ahead of use (loading the variant if needed).</summary>
    public void PrepareKnobs(string variantId, ExecutionKnobs knobs)
    {
        var slot = _pool.Find(variantId);
        var loaded = _pool.Acquire(slot);
        try
        {
            _pool.WarmUp(loaded, knobs);
        }
        finally
        {
            loaded.Release();
        }
    }

    /// <summary>Latency of one variant per execution setting it has run with.</summary>
    public IReadOnlyDictionary<ExecutionKnobs, LatencySnapshot> GetKnobLatency(string variantId) =>
        _pool.Find(variantId).KnobLatency.ToDictionary(p => p.Key, p => p.Value.Snapshot());

    /// <summary>Runs, caller-thread CPU and process CPU so far (see <see cref="CpuUsage"/>).</summary>
    public CpuUsage GetCpuUsage() =>
        new(Interlocked.Read(ref _inferences), TimeSpan.FromTicks(Interlocked.Read(ref _callerCpuTicks)), CpuClock.Process(), _time.GetElapsedTime(_openedAt));

    public Task SwitchToAsync(string variantId, CancellationToken cancellationToken = default) =>
        Task.Run(() => SwitchTo(variantId), cancellationToken);

    /// <summary>Loads and warms variants ahead of a switch, so the switch itself is instant.</summary>
    public void Prewarm(params IEnumerable<string> variantIds)
    {
        foreach (string id in variantIds)
        {
            _pool.Load(_pool.Find(id));
        }
    }

    /// <summary>Unloads an idle variant now; it reloads on next use. The current variant cannot be unloaded.</summary>
    public void Unload(string variantId)
    {
        var slot = _pool.Find(variantId);
        if (slot == _current)
        {
            throw new InvalidOperationException($"variant '{variantId}' is serving; switch away from it first");
        }
        _pool.Evict(slot);
    }

    public IReadOnlyList<VariantStatus> GetStatus() =>
    [
        .. _pool.Slots.Select(s => new VariantStatus(
            s.Id, s.State, s.Unavailable, s == _current, s.Loaded?.ResidentBytes ?? 0, s.LoadTime, s.Latency.Snapshot(), s.Variant.Manifest)
        {
            Providers = s.Providers,
            ProviderNote = s.ProviderNote,
        }),
    ];

    public LatencySnapshot GetLatency(string variantId) => _pool.Find(variantId).Latency.Snapshot();

    private RunOptions RentRunOptions() => _runOptions.TryTake(out var options) ? options : new RunOptions();

    private void ReturnRunOptions(RunOptions options)
    {
        if (options.Terminate)
        {
            options.Terminate = false;
        }
        if (_disposed != 0 || _runOptions.Count >= MaxPooledRunOptions)
        {
            options.Dispose();
            return;
        }
        _runOptions.Add(options);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _pool.Dispose();
        while (_runOptions.TryTake(out var options))
        {
            options.Dispose();
        }
    }
}
