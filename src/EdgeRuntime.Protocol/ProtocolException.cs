namespace EdgeRuntime.Protocol;

/// <summary>A frame or request the daemon cannot accept, with the code sent back to the client.</summary>
public class ProtocolException(ErrorCode code, string message, Exception? inner = null) : Exception(message, inner)
{
    public ErrorCode Code { get; } = code;

    /// <summary>The request id, when it could be read before the problem was found (0 otherwise).</summary>
    public uint RequestId { get; init; }

    /// <summary>Whether the stream is still positioned at a frame boundary, so the connection can go on.</summary>
    public bool ConnectionUsable { get; init; } = true;
}
