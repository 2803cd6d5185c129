using System.Buffers;
using System.Buffers.Binary;

namespace EdgeRuntime.Protocol;

/// <summary>Reads length-prefixed frames from a stream, never buffering more than the frame cap.</summary>
public sealed class FrameReader(Stream stream, FrameLimits limits, bool pooled = true)
{
    private const int SniffBytes = 32;
    private readonly byte[] _prefix = new byte[FrameCodec.PrefixBytes];

    /// <summary>Reads the next frame; null when the peer closed the stream between frames.</summary>
    /// <exception cref="ProtocolException">The frame is empty or too large (see <see cref="ProtocolException.ConnectionUsable"/>).</exception>
    /// <exception cref="EndOfStreamException">The stream ended inside a frame.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        int got = await ReadAtLeastAsync(_prefix, cancellationToken).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }
        if (got < _prefix.Length)
        {
            throw new EndOfStreamException("the stream ended inside a frame's length prefix");
        }
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_prefix);
        if (length == 0)
        {
            throw new ProtocolException(ErrorCode.MalformedFrame, "a frame of length 0 holds no message");
        }
        if (length > (uint)limits.MaxFrameBytes)
        {
            await SkipOversizedAsync(length, cancellationToken).ConfigureAwait(false);
        }
        int size = (int)length;
        byte[] buffer = pooled ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            throw;
        }
        return new Frame(buffer, size, pooled);
    }

    /// <summary>Blocking form of <see cref="ReadAsync"/>, for a thread dedicated to one connection: the kernel wakes
    /// it directly when bytes arrive, which saves the hand-off from the socket event loop to the thread pool.</summary>
    /// <param name="entering">Told when the read waits for a frame, is inside its length prefix, and is inside its
    /// payload, so the caller can give each phase its own deadline (a client that stops half-way cannot hold a reader).</param>
    public Frame? Read(Action<FrameReadPhase>? entering = null)
    {
        entering?.Invoke(FrameReadPhase.WaitingForFrame);
        int got = stream.Read(_prefix);
        if (got == 0)
        {
            return null;
        }
        if (got < _prefix.Length)
        {
            entering?.Invoke(FrameReadPhase.Header);
            got += stream.ReadAtLeast(_prefix.AsSpan(got), _prefix.Length - got, throwOnEndOfStream: false);
            if (got < _prefix.Length)
            {
                throw new EndOfStreamException("the stream ended inside a frame's length prefix");
            }
        }
        entering?.Invoke(FrameReadPhase.Body);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_prefix);
        if (length == 0)
        {
            throw new ProtocolException(ErrorCode.MalformedFrame, "a frame of length 0 holds no message");
        }
        if (length > (uint)limits.MaxFrameBytes)
        {
            SkipOversizedAsync(length, CancellationToken.None).GetAwaiter().GetResult();
        }
        int size = (int)length;
        byte[] buffer = pooled ? ArrayPool<byte>.Shared.Rent(size) : new byte[size];
        try
        {
            stream.ReadExactly(buffer.AsSpan(0, size));
        }
        catch
        {
            if (pooled)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            throw;
        }
        return new Frame(buffer, size, pooled);
    }

    private async ValueTask<int> ReadAtLeastAsync(byte[] buffer, CancellationToken cancellationToken) =>
        await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);

    /// <summary>Reads the id for the error reply, then throws the rest away in small pieces (or gives up on the connection).</summary>
    private async Task SkipOversizedAsync(uint length, CancellationToken cancellationToken)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int sniff = (int)Math.Min(length, SniffBytes);
            int got = await stream.ReadAtLeastAsync(scratch.AsMemory(0, sniff), sniff, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            uint id = FrameCodec.SniffRequestId(scratch.AsSpan(0, got));
            string message = $"a frame of {length} bytes exceeds the cap of {limits.MaxFrameBytes}";
            if (got < sniff || length > limits.MaxDiscardBytes)
            {
                throw new ProtocolException(ErrorCode.FrameTooLarge, message + "; the connection is closed") { RequestId = id, ConnectionUsable = false };
            }
            long left = length - got;
            while (left > 0)
            {
                int chunk = (int)Math.Min(left, scratch.Length);
                int read = await stream.ReadAsync(scratch.AsMemory(0, chunk), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new ProtocolException(ErrorCode.FrameTooLarge, message + "; the stream ended inside it") { RequestId = id, ConnectionUsable = false };
                }
                left -= read;
            }
            throw new ProtocolException(ErrorCode.FrameTooLarge, message) { RequestId = id };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }
}

/// <summary>Where a blocking <see cref="FrameReader.Read"/> is: between frames, inside a length prefix, inside a payload.</summary>
public enum FrameReadPhase
{
    WaitingForFrame,
    Header,
    Body,
}
