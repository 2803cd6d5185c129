using EdgeRuntime.Protocol;

namespace EdgeRuntime.Client;

/// <summary>The daemon refused or failed a request; <see cref="Code"/> says why.</summary>
public class EdgertException(ErrorCode? code, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>The daemon's error code; null when the failure is on this side (connection, decoding).</summary>
    public ErrorCode? Code { get; } = code;

    /// <summary>Worth retrying later as is: overloaded, shutting down, or the connection dropped.</summary>
    public virtual bool IsTransient => Code is ErrorCode.Overloaded or ErrorCode.ShuttingDown;
}

/// <summary>The daemon could not be reached, or the connection dropped before the reply came.</summary>
public sealed class EdgertConnectionException(string message, Exception? inner = null) : EdgertException(null, message, inner)
{
    public override bool IsTransient => true;
}
