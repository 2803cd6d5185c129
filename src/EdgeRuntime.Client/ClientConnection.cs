using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Client;

/// <summary>One socket to the daemon: writes requests, and a read loop hands replies to their callers by id.</summary>
internal sealed class ClientConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;
    private readonly CancellationTokenSource _closed = new();
    private readonly Task _readLoop;
    private Exception? _failure;

    public ClientConnection(Socket socket, int maxFrameBytes)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        var limits = new FrameLimits { MaxFrameBytes = maxFrameBytes };
        // Replies are not pooled: their tensors are handed to the app, which keeps them as long as it likes.
        _reader = new FrameReader(_stream, limits, pooled: false);
        Writer = new FrameWriter(_stream, maxFrameBytes);
        // A thread of its own blocking in the read: the kernel wakes it directly when a reply arrives.
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _readLoop = finished.Task;
        new Thread(() =>
        {
            try
            {
                ReadLoop();
            }
            finally
            {
                finished.SetResult();
            }
        })
        {
            IsBackground = true,
            Name = "edgert client reader",
        }.Start();
    }

    public FrameWriter Writer { get; }
    public ConcurrentDictionary<uint, TaskCompletionSource<Envelope>> Pending { get; } = new();
    public ConcurrentDictionary<uint, Channel<ServerEvent>> Subscriptions { get; } = new();
    public bool IsOpen => !_closed.IsCancellationRequested;

    private void ReadLoop()
    {
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                using var frame = _reader.Read();
                if (frame is null)
                {
                    Fail(new EdgertConnectionException("the daemon closed the connection"));
                    return;
                }
                var envelope = FrameCodec.DecodeEnvelope(frame.Payload, FrameLimits.Default with { MaxFrameBytes = int.MaxValue / 2 });
                if (envelope.Type == MessageType.Event)
                {
                    if (Subscriptions.TryGetValue(envelope.RequestId, out var channel))
                    {
                        channel.Writer.TryWrite(FrameCodec.DecodeBody<ServerEvent>(envelope));
                    }
                }
                else if (Pending.TryRemove(envelope.RequestId, out var pending))
                {
                    pending.TrySetResult(envelope);
                }
                else if (envelope.RequestId == 0 && envelope.Type == MessageType.Error)
                {
                    // An error about a frame the daemon could not attribute: nothing waits on it by id.
                    var error = FrameCodec.DecodeBody<ErrorBody>(envelope);
                    Fail(new EdgertException((ErrorCode)error.Code, $"the daemon reported: {error.Message}"));
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            Fail(new EdgertConnectionException($"the connection to the daemon dropped: {e.Message}", e));
        }
        catch (ProtocolException e)
        {
            Fail(new EdgertException(e.Code, $"the daemon sent a frame this client cannot read: {e.Message}", e));
        }
    }

    /// <summary>Waits (briefly) for the read loop to finish and returns what ended it, e.g. the daemon's error frame.</summary>
    public async Task<Exception?> ReasonForClosingAsync(TimeSpan wait)
    {
        try
        {
            await _readLoop.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        return Volatile.Read(ref _failure);
    }

    /// <summary>Closes the connection and fails everything waiting on it.</summary>
    public void Fail(Exception reason)
    {
        Interlocked.CompareExchange(ref _failure, reason, null);
        if (!_closed.IsCancellationRequested)
        {
            try
            {
                _closed.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        _stream.Dispose();
        foreach (var id in Pending.Keys)
        {
            if (Pending.TryRemove(id, out var pending))
            {
                pending.TrySetException(_failure!);
            }
        }
        foreach (var id in Subscriptions.Keys)
        {
            if (Subscriptions.TryRemove(id, out var channel))
            {
                channel.Writer.TryComplete(_failure);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Fail(new EdgertConnectionException("the client was disposed"));
        await _readLoop.ConfigureAwait(false);
        Writer.Dispose();
        _closed.Dispose();
    }
}
