using System.Net.Sockets;

namespace EdgeRuntime.Server.Connections;

/// <summary>
/// A connection's stream whose blocking reads give up at a deadline the reader moves per phase (waiting for a
/// frame, inside a header, inside a body), so a client that sends nothing or stops half-way cannot hold a
/// connection thread and a connection slot for ever. Writes go through unchanged.
/// </summary>
internal sealed class DeadlineSocketStream(Socket socket, TimeProvider time) : Stream
{
    private readonly NetworkStream _inner = new(socket, ownsSocket: true);
    private long? _deadline;
    private int _appliedTimeoutMs;

    /// <summary>Timestamp (of the TimeProvider) after which reads fail with <see cref="ReadTimedOutException"/>; null waits for ever.</summary>
    public void SetDeadline(TimeSpan? after) =>
        _deadline = after is TimeSpan span ? time.GetTimestamp() + (long)(span.TotalSeconds * time.TimestampFrequency) : null;

    public override int Read(Span<byte> buffer)
    {
        int timeoutMs = 0;
        if (_deadline is long deadline)
        {
            long left = deadline - time.GetTimestamp();
            if (left <= 0)
            {
                throw new ReadTimedOutException();
            }
            timeoutMs = (int)Math.Clamp(Math.Ceiling(left * 1000.0 / time.TimestampFrequency), 1, int.MaxValue);
        }
        if (timeoutMs != _appliedTimeoutMs)
        {
            socket.ReceiveTimeout = timeoutMs;
            _appliedTimeoutMs = timeoutMs;
        }
        try
        {
            return socket.Receive(buffer);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            throw new ReadTimedOutException();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);
    public override void Flush() => _inner.Flush();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>A read passed its deadline; nothing of the current phase's bytes is lost when it was between frames.</summary>
internal sealed class ReadTimedOutException() : IOException("the read passed its deadline");
