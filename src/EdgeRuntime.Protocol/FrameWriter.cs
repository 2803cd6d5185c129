using System.Buffers;

namespace EdgeRuntime.Protocol;

/// <summary>Writes whole frames to a stream from any number of callers, one frame at a time, reusing one buffer.</summary>
public sealed class FrameWriter(Stream stream, int maxFrameBytes = FrameLimits.DefaultMaxFrameBytes) : IDisposable
{
    private const int KeepBufferBytes = 1 << 20;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ArrayBufferWriter<byte> _buffer = new(4096);

    /// <exception cref="ProtocolException">The message would exceed the frame cap (nothing is written).</exception>
    public async ValueTask WriteAsync<T>(MessageType type, uint requestId, T body, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(Encode(type, requestId, body), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Done();
        }
    }

    /// <summary>
    /// Blocking form of <see cref="WriteAsync"/>, for the thread that owns a connection. On a socket it keeps the
    /// socket in blocking mode: after one asynchronous operation .NET makes every later blocking read wait for its
    /// socket event thread to wake the reader, two thread switches per read.
    /// </summary>
    /// <exception cref="ProtocolException">The message would exceed the frame cap (nothing is written).</exception>
    public void Write<T>(MessageType type, uint requestId, T body)
    {
        _gate.Wait();
        try
        {
            stream.Write(Encode(type, requestId, body).Span);
        }
        finally
        {
            Done();
        }
    }

    private ReadOnlyMemory<byte> Encode<T>(MessageType type, uint requestId, T body)
    {
        _buffer.ResetWrittenCount();
        int length = FrameCodec.WriteFrame(_buffer, type, requestId, body);
        if (length > maxFrameBytes)
        {
            throw new ProtocolException(ErrorCode.FrameTooLarge, $"a {type} message of {length} bytes exceeds the frame cap of {maxFrameBytes}") { RequestId = requestId };
        }
        return _buffer.WrittenMemory;
    }

    private void Done()
    {
        if (_buffer.Capacity > KeepBufferBytes)
        {
            _buffer = new ArrayBufferWriter<byte>(4096);
        }
        _gate.Release();
    }

    public void Dispose() => _gate.Dispose();
}
