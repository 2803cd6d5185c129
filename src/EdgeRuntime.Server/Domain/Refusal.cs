namespace EdgeRuntime.Server.Domain;

/// <summary>Why the daemon declines or fails a request. The connection edge maps each to its wire error code.</summary>
internal enum Refusal
{
    InvalidRequest,
    InvalidInput,
    UnknownModel,
    UnknownVariant,
    QualityUnavailable,
    Overloaded,
    ShuttingDown,
    Cancelled,
    DeadlineExceeded,
    ReloadFailed,
    InferenceFailed,
    Internal,
}

/// <summary>A request the daemon refuses, with the message its client is shown.</summary>
internal sealed class RefusedException(Refusal refusal, string message) : Exception(message)
{
    public Refusal Refusal { get; } = refusal;
}
