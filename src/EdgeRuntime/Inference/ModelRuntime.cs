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
    private volatile VariantPool.Slot _current;
    private int _disposed;

    private ModelRuntime(ModelBundle bundle, RuntimeOptions options, TimeProvider time, ILogger logger)
    {
        Bundle = bundle;
        _time = time;
        _logger = logger;
        _pool = new VariantPool(bundle, options, time, logger);
        _current = _pool.Slots[0];
    }

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
        SharedOrtEnvironment.EnsureInitialized(options.IntraOpThreads);
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
            if (initial is not null && !options.ValidateAllVariantsOnOpen)
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
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, OutputAllocator? allocateOutputs, CancellationToken cancellationToken = default)
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
        return RunOn(slot, loaded, inputs, allocateOutputs, cancellationToken);
    }

    /// <summary>Runs one inference on a named variant (loading it if needed), whatever the current one is.</summary>
    public InferenceResult Run(IReadOnlyList<NamedTensor> inputs, string variantId, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        var slot = _pool.Find(variantId);
        return RunOn(slot, _pool.Acquire(slot), inputs, null, cancellationToken);
    }

    /// <summary>Runs one inference on the thread pool. The run itself is CPU-bound; use <see cref="Run(IReadOnlyList{NamedTensor}, CancellationToken)"/>
    /// from a worker that may block.</summary>
    public Task<InferenceResult> RunAsync(IReadOnlyList<NamedTensor> inputs, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(inputs, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    public Task<InferenceResult> RunAsync(IReadOnlyList<NamedTensor> inputs, string variantId, CancellationToken cancellationToken = default) =>
        Task.Factory.StartNew(() => Run(inputs, variantId, cancellationToken), cancellationToken, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);

    private InferenceResult RunOn(VariantPool.Slot slot, LoadedVariant loaded, IReadOnlyList<NamedTensor> inputs, OutputAllocator? allocateOutputs, CancellationToken cancellationToken)
    {
        var runOptions = RentRunOptions();
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((RunOptions)state!).Terminate = true, runOptions)
            : default;
        long started = _time.GetTimestamp();
        try
        {
            var outputs = loaded.Run(inputs, runOptions, allocateOutputs);
            var elapsed = _time.GetElapsedTime(started);
            slot.Latency.Record(elapsed);
            return new InferenceResult(slot.Id, outputs, elapsed);
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
        _pool.TrimToBudget();
        _logger.LogDebug("Switched from {From} to {To}", change.From, change.To);
        Switched?.Invoke(change);
    }

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
