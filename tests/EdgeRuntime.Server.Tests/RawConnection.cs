using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Server.Tests;

/// <summary>A socket that sends exactly the bytes a test gives it, for frames no well-behaved client would send.</summary>
internal sealed class RawConnection : IDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;

    private RawConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new FrameReader(_stream, FrameLimits.Default with { MaxFrameBytes = 1 << 26 }, pooled: false);
    }

    public static RawConnection Connect(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        return new RawConnection(socket);
    }

    public static RawConnection Connect(System.Net.IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.Connect(endpoint);
        return new RawConnection(socket);
    }

    public void SendBytes(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

    /// <summary>Sends a payload with a correct length prefix.</summary>
    public void SendPayload(ReadOnlySpan<byte> payload)
    {
        Span<byte> prefix = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)payload.Length);
        _stream.Write(prefix);
        _stream.Write(payload);
    }

    public void Send<T>(MessageType type, uint id, T body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteFrame(buffer, type, id, body);
        _stream.Write(buffer.WrittenSpan);
    }

    public async Task<Envelope> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var frame = await _reader.ReadAsync(timeout.Token) ?? throw new EndOfStreamException("the daemon closed the connection");
        return FrameCodec.DecodeEnvelope(frame.Payload, FrameLimits.Default with { MaxFrameBytes = 1 << 26 });
    }

    /// <summary>The next frame must be an error; returns its code and message.</summary>
    public async Task<(ErrorCode Code, string Message, uint RequestId)> ReceiveErrorAsync()
    {
        var envelope = await ReceiveAsync();
        Assert.Equal(MessageType.Error, envelope.Type);
        var error = FrameCodec.DecodeBody<ErrorBody>(envelope);
        return ((ErrorCode)error.Code, error.Message, envelope.RequestId);
    }

    /// <summary>A hello round trip: proves the connection still works.</summary>
    public async Task AssertUsableAsync(uint id = 999)
    {
        Send(MessageType.Hello, id, new HelloRequest { Client = "raw" });
        var envelope = await ReceiveAsync();
        Assert.Equal(MessageType.Hello, envelope.Type);
        Assert.Equal(id, envelope.RequestId);
    }

    /// <summary>True when the daemon closed the connection (reads end).</summary>
    public async Task<bool> IsClosedByPeerAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return await _reader.ReadAsync(timeout.Token) is null;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return true;
        }
    }

    public void Dispose() => _stream.Dispose();
}
