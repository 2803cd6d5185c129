using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Models;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Server.Inference;

/// <summary>Where a job's outcome goes: the connection that asked.</summary>
internal interface IJobResponder
{
    void Succeed(InferenceJob job, InferenceOutcome outcome);
    void Fail(InferenceJob job, Refusal refusal, string message);
}

/// <summary>
/// One accepted inference request. It owns what its input tensors point into (the request's frame), released
/// only when the job is done; its cancellation follows the connection and the client's cancel.
/// </summary>
internal sealed class InferenceJob : IDisposable
{
    private readonly IDisposable _inputOwner;
    private int _disposed;

    public InferenceJob(IJobResponder responder, uint requestId, IDisposable inputOwner, NamedTensor[] inputs, ModelHost model, CancellationToken connectionClosed)
    {
        Responder = responder;
        RequestId = requestId;
        _inputOwner = inputOwner;
        Inputs = inputs;
        Model = model;
        Cancellation = CancellationTokenSource.CreateLinkedTokenSource(connectionClosed);
    }

    public IJobResponder Responder { get; }
    public uint RequestId { get; }
    public NamedTensor[] Inputs { get; }
    public ModelHost Model { get; }
    public CancellationTokenSource Cancellation { get; }
    public double? MinQuality { get; init; }
    public int Priority { get; init; } = 1;

    /// <summary>TimeProvider timestamp of receipt.</summary>
    public long ReceivedAt { get; init; }

    /// <summary>Budget from receipt; null for none.</summary>
    public TimeSpan? Deadline { get; init; }

    public void Cancel()
    {
        try
        {
            Cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Finished meanwhile.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Cancellation.Dispose();
            _inputOwner.Dispose();
        }
    }
}
