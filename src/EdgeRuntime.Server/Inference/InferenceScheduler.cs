using System.Threading.Channels;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Server.Domain;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Server.Inference;

/// <summary>
/// A bounded queue of inference jobs served by a fixed set of workers. A full queue refuses at once
/// (Overloaded) instead of growing; lower priorities are refused first. A job whose deadline passed or whose
/// client went away is never run. Completing the queue lets the workers drain what was accepted.
/// </summary>
internal sealed class InferenceScheduler
{
    private readonly Channel<InferenceJob> _queue;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long[] _busySince;
    private readonly Task[] _workers;
    private readonly ManualResetEventSlim _resume = new(true);
    // One permit per worker bounds concurrent runs, whether a run happens on a worker or inline on a reader.
    private readonly SemaphoreSlim _permits;
    private volatile bool _paused;
    private volatile bool _closed;
    private int _inFlight;
    private long _completed;
    private long _failed;
    private long _overloaded;
    private long _expired;
    private long _cancelled;

    public InferenceScheduler(int workers, int capacity, TimeProvider time, ILogger logger)
    {
        Capacity = capacity;
        _time = time;
        _logger = logger;
        // Wait mode makes TryWrite report a full queue, so a full queue becomes an explicit Overloaded reply.
        _queue = Channel.CreateBounded<InferenceJob>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _busySince = new long[workers];
        _permits = new SemaphoreSlim(workers, workers);
        _workers = new Task[workers];
        for (int i = 0; i < workers; i++)
        {
            _workers[i] = Task.Run(WorkerLoopAsync);
        }
    }

    public int Capacity { get; }
    public int Workers => _workers.Length;
    public int QueueDepth => _queue.Reader.Count;
    public int InFlight => Volatile.Read(ref _inFlight);
    public long Completed => Interlocked.Read(ref _completed);
    public long Failed => Interlocked.Read(ref _failed);
    public long Overloaded => Interlocked.Read(ref _overloaded);
    public long Expired => Interlocked.Read(ref _expired);
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Queues a job, or says why not (the caller still owns the job then).</summary>
    public Refusal? TryEnqueue(InferenceJob job, out string? reason)
    {
        if (_closed)
        {
            reason = "the daemon is shutting down";
            return Refusal.ShuttingDown;
        }
        int limit = job.Priority switch
        {
            >= 2 => Capacity,
            1 => Math.Max(1, Capacity - Capacity / 4),
            _ => Math.Max(1, Capacity / 2),
        };
        if (_queue.Reader.Count >= limit || !_queue.Writer.TryWrite(job))
        {
            Interlocked.Increment(ref _overloaded);
            reason = $"the inference queue holds {_queue.Reader.Count} of {Capacity} requests (priority {job.Priority} may use {limit}); retry later";
            return Refusal.Overloaded;
        }
        reason = null;
        return null;
    }

    /// <summary>True unless a worker died or has been busy on one request longer than <paramref name="stallLimit"/>.</summary>
    public bool IsHealthy(TimeSpan stallLimit)
    {
        if (_workers.Any(w => w.IsFaulted))
        {
            return false;
        }
        long now = _time.GetTimestamp();
        foreach (ref long since in _busySince.AsSpan())
        {
            long started = Volatile.Read(ref since);
            if (started != 0 && _time.GetElapsedTime(started, now) > stallLimit)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Takes no more jobs and waits until the accepted ones are done (or the timeout passes).</summary>
    /// <returns>Whether everything accepted was finished.</returns>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        _closed = true;
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_workers).WaitAsync(timeout, _time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("Drain timed out with {Queued} queued and {Running} running requests", QueueDepth, InFlight);
            return false;
        }
    }

    /// <summary>Holds workers before they run the job they took (tests use it to fill the queue deterministically).</summary>
    internal void Pause()
    {
        _resume.Reset();
        _paused = true;
    }

    internal void Resume()
    {
        _paused = false;
        _resume.Set();
    }

    /// <summary>
    /// Runs the job at once on the calling thread when nothing waits and a permit is free, saving the hand-off to a
    /// worker (the largest part of the daemon's latency on small models). The caller's connection reads no further
    /// frames meanwhile, which is what a client waiting for this reply expects anyway.
    /// </summary>
    /// <returns>False when the job must be queued instead.</returns>
    public bool TryRunInline(InferenceJob job)
    {
        if (_paused || _closed || _queue.Reader.Count != 0 || !_permits.Wait(0))
        {
            return false;
        }
        try
        {
            RunHoldingPermit(job);
        }
        finally
        {
            _permits.Release();
        }
        return true;
    }

    private async Task WorkerLoopAsync()
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var job))
            {
                await _permits.WaitAsync().ConfigureAwait(false);
                try
                {
                    RunHoldingPermit(job);
                }
                finally
                {
                    _permits.Release();
                }
            }
        }
    }

    private void RunHoldingPermit(InferenceJob job)
    {
        int slot = ClaimBusySlot();
        Interlocked.Increment(ref _inFlight);
        try
        {
            Execute(job);
        }
        catch (Exception e)
        {
            // A worker must outlive any one request.
            _logger.LogError(e, "Inference of request {Request} failed unexpectedly", job.RequestId);
        }
        finally
        {
            Volatile.Write(ref _busySince[slot], 0);
            Interlocked.Decrement(ref _inFlight);
            job.Dispose();
        }
    }

    /// <summary>Marks a free slot busy since now; permits guarantee one is free.</summary>
    private int ClaimBusySlot()
    {
        long now = Math.Max(1, _time.GetTimestamp());
        while (true)
        {
            for (int i = 0; i < _busySince.Length; i++)
            {
                if (Interlocked.CompareExchange(ref _busySince[i], now, 0) == 0)
                {
                    return i;
                }
            }
            Thread.SpinWait(8);
        }
    }

    private void Execute(InferenceJob job)
    {
        if (_paused)
        {
            _resume.Wait();
        }
        var waited = _time.GetElapsedTime(job.ReceivedAt);
        if (job.Cancellation.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            job.Responder.Fail(job, Refusal.Cancelled, "the request was cancelled before it ran");
            return;
        }
        if (job.Deadline is TimeSpan deadline && waited >= deadline)
        {
            Interlocked.Increment(ref _expired);
            job.Responder.Fail(job, Refusal.DeadlineExceeded,
                $"the deadline of {deadline.TotalMilliseconds:0.###} ms passed after {waited.TotalMilliseconds:0.###} ms in the queue; the request was not run");
            return;
        }
        var lease = job.Model.Acquire();
        if (lease is null)
        {
            Interlocked.Increment(ref _failed);
            job.Responder.Fail(job, Refusal.ShuttingDown, $"model '{job.Model.Name}' is closed");
            return;
        }
        ITimer? deadlineTimer = null;
        bool deadlineFired = false;
        try
        {
            if (job.Deadline is TimeSpan budget)
            {
                deadlineTimer = _time.CreateTimer(_ => { deadlineFired = true; job.Cancel(); }, null, budget - waited, Timeout.InfiniteTimeSpan);
            }
            string? variant = job.MinQuality is double floor ? job.Model.ChooseForQuality(lease.Runtime, floor) : null;
            var token = job.Cancellation.Token;
            var result = variant is null ? lease.Runtime.Run(job.Inputs, token) : lease.Runtime.Run(job.Inputs, variant, token);
            Interlocked.Increment(ref _completed);
            job.Responder.Succeed(job, new InferenceOutcome(job.Model.Name, result, waited));
        }
        catch (OperationCanceledException)
        {
            if (deadlineFired)
            {
                Interlocked.Increment(ref _expired);
                job.Responder.Fail(job, Refusal.DeadlineExceeded, $"the deadline of {job.Deadline!.Value.TotalMilliseconds:0.###} ms passed while the request ran; it was stopped");
            }
            else
            {
                Interlocked.Increment(ref _cancelled);
                job.Responder.Fail(job, Refusal.Cancelled, "the request was cancelled while it ran");
            }
        }
        catch (InvalidInputException e)
        {
            Interlocked.Increment(ref _failed);
            job.Responder.Fail(job, Refusal.InvalidInput, e.Message);
        }
        catch (RefusedException e)
        {
            Interlocked.Increment(ref _failed);
            job.Responder.Fail(job, e.Refusal, e.Message);
        }
        catch (VariantUnavailableException e)
        {
            Interlocked.Increment(ref _failed);
            job.Responder.Fail(job, Refusal.InferenceFailed, e.Message);
        }
        catch (Exception e) when (e is OnnxRuntimeException or NotSupportedException or ArgumentException)
        {
            // The engine's own text stays in the log: it can quote model internals the client has no business reading.
            Interlocked.Increment(ref _failed);
            _logger.LogWarning("Inference of request {Request} failed: {Reason}", job.RequestId, e.Message);
            job.Responder.Fail(job, Refusal.InferenceFailed, "the model failed while running this request (the daemon's log has the engine's message)");
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            _logger.LogError(e, "Inference failed unexpectedly for request {Request}", job.RequestId);
            job.Responder.Fail(job, Refusal.Internal, "internal error (the daemon's log has the details)");
        }
        finally
        {
            deadlineTimer?.Dispose();
            lease.Release();
        }
    }
}
