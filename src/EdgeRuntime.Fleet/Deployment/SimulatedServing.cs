using System.Diagnostics;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>
/// The serving side of a simulated device: an in-process <see cref="ModelRuntime"/> on the bundle's active version
/// and a steady request loop. Activation opens (and warms up) the new version first, then swaps it in; the replaced
/// runtime is disposed only when its last request has finished, so a swap never fails a request. Counts requests,
/// failures and SLO hits for probation, and keeps the first errors so a failure can be shown.
/// </summary>
public sealed class SimulatedServing : IDisposable
{
    private sealed class Slot(ModelRuntime runtime, NamedTensor[] inputs, string directory)
    {
        public ModelRuntime Runtime { get; } = runtime;
        public NamedTensor[] Inputs { get; } = inputs;
        public string Directory { get; } = directory;
        public OwnerReferenceCount References { get; } = new();
    }

    private readonly double _sloMs;
    private readonly Lock _errorsGate = new();
    private readonly List<string> _errors = [];
    private Slot? _current;
    private long _requests;
    private long _failures;
    private long _sloMet;
    private long _swaps;
    private long _swapsDuringRequests;
    private long _swapping;
    private long _requestsDuringSwaps;
    private long _failuresDuringSwaps;
    private long _inFlight;

    /// <param name="sloMs">A request slower than this misses the SLO.</param>
    public SimulatedServing(double sloMs)
    {
        _sloMs = sloMs;
    }

    public long Requests => Interlocked.Read(ref _requests);
    public long Failures => Interlocked.Read(ref _failures);
    public long SloMet => Interlocked.Read(ref _sloMet);
    public long Swaps => Interlocked.Read(ref _swaps);
    /// <summary>Swaps made while a request was running on the replaced version (the case a naive swap would fail).</summary>
    public long SwapsDuringRequests => Interlocked.Read(ref _swapsDuringRequests);
    /// <summary>Requests that started while a new version was being opened and swapped in (an activation or a rollback).</summary>
    public long RequestsDuringSwaps => Interlocked.Read(ref _requestsDuringSwaps);
    public long FailuresDuringSwaps => Interlocked.Read(ref _failuresDuringSwaps);
    public string? ServingDirectory => Volatile.Read(ref _current)?.Directory;

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errorsGate)
            {
                return [.. _errors];
            }
        }
    }

    /// <summary>Serves <paramref name="directory"/> from now on (what the store's activation calls).</summary>
    public async Task ActivateAsync(string bundleName, string directory, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _swapping);
        try
        {
            await Task.Run(() => Swap(directory), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _swapping);
        }
    }

    private void Swap(string directory)
    {
        var runtime = ModelRuntime.Open(directory, new RuntimeOptions { Knobs = ExecutionKnobs.SingleThread, ValidateAllVariantsOnOpen = false });
        Slot next;
        try
        {
            next = new Slot(runtime, Benchmarker.MakeInputs(runtime.Inputs, new BenchOptions { RequireSizedDimensions = false }), directory);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
        var replaced = Interlocked.Exchange(ref _current, next);
        Interlocked.Increment(ref _swaps);
        if (replaced is not null)
        {
            if (!replaced.References.IsReleased && Volatile.Read(ref _inFlight) > 0)
            {
                Interlocked.Increment(ref _swapsDuringRequests);
            }
            Retire(replaced);
        }
    }

    /// <summary>One request on whatever version is active; false when it failed.</summary>
    public bool Serve()
    {
        Slot? slot;
        while (true)
        {
            slot = Volatile.Read(ref _current);
            if (slot is null)
            {
                return true; // Not serving yet: nothing to count.
            }
            if (slot.References.TryAcquire())
            {
                break;
            }
            // Retired between the read and the acquire: the new one is already in place.
        }
        Interlocked.Increment(ref _inFlight);
        Interlocked.Increment(ref _requests);
        bool duringSwap = Interlocked.Read(ref _swapping) > 0;
        if (duringSwap)
        {
            Interlocked.Increment(ref _requestsDuringSwaps);
        }
        long started = Stopwatch.GetTimestamp();
        try
        {
            slot.Runtime.Run(slot.Inputs);
            if (Stopwatch.GetElapsedTime(started).TotalMilliseconds <= _sloMs)
            {
                Interlocked.Increment(ref _sloMet);
            }
            return true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _failures);
            if (duringSwap)
            {
                Interlocked.Increment(ref _failuresDuringSwaps);
            }
            lock (_errorsGate)
            {
                if (_errors.Count < 10)
                {
                    _errors.Add($"{Path.GetFileName(slot.Directory)}: {e.GetType().Name}: {e.Message}");
                }
            }
            return false;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
            if (slot.References.Release())
            {
                slot.Runtime.Dispose();
            }
        }
    }

    /// <summary>Serves a request every <paramref name="interval"/> until cancelled.</summary>
    public async Task RunRequestsAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Serve();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static void Retire(Slot slot)
    {
        if (slot.References.Retire())
        {
            slot.Runtime.Dispose();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _current, null) is { } slot)
        {
            Retire(slot);
        }
    }
}
