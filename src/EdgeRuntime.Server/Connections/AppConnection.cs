using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Inference;
using EdgeRuntime.Tensors;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Connections;

/// <summary>
/// One client: reads frames and answers them, in any order (replies carry the request id). Inference goes to
/// the scheduler; everything else is answered on the read loop, except reloads, which run aside. Closing the
/// connection cancels its queued and running requests.
/// </summary>
internal sealed class AppConnection : IJobResponder
{
    private readonly ServerContext _server;
    private readonly Socket _socket;
    private readonly DeadlineSocketStream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closed = new();
    private readonly ConcurrentDictionary<uint, InferenceJob> _jobs = new();
    private readonly EventSubscriptions _subscriptions;
    private readonly TaskCompletionSource _repliesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _authenticated;
    private int _outstanding;
    private bool _greeted;
    private long _acceptedAt;
    private FrameReadPhase _phase;
    // The thread serving the connection writes its replies itself, blocking (see FrameWriter.Write).
    private int _readerThread = -1;

    public AppConnection(ServerContext server, Socket socket, bool requiresToken, long id)
    {
        _server = server;
        _socket = socket;
        _stream = new DeadlineSocketStream(socket, server.Time);
        _acceptedAt = server.Time.GetTimestamp();
        _reader = new FrameReader(_stream, server.Limits);
        _writer = new FrameWriter(_stream, server.Limits.MaxFrameBytes);
        _logger = server.Loggers.CreateLogger<AppConnection>();
        _authenticated = !requiresToken;
        _subscriptions = new EventSubscriptions(server, _writer, _closed.Token);
        Id = id;
    }

    public long Id { get; }

    /// <summary>Serves the connection on the calling thread (a thread of its own) until the peer or the daemon closes it.</summary>
    public void Run()
    {
        _readerThread = Environment.CurrentManagedThreadId;
        // A client that stops reading its replies cannot hold this thread in a blocking write for longer than a body may take.
        _socket.SendTimeout = (int)Math.Clamp(_server.Options.BodyTimeout.TotalMilliseconds, 1, int.MaxValue);
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                Frame? frame;
                try
                {
                    frame = _reader.Read(EnterPhase);
                    _greeted = true;
                }
                catch (ReadTimedOutException)
                {
                    if (_phase == FrameReadPhase.WaitingForFrame && _greeted && IsBusy)
                    {
                        // Waiting for replies or events is not idleness: nothing was read, so reading again is safe.
                        continue;
                    }
                    ReportTimeout();
                    break;
                }
                catch (ProtocolException e)
                {
                    Wait(SendErrorAsync(e.RequestId, e.Code, e.Message));
                    if (!e.ConnectionUsable)
                    {
                        break;
                    }
                    continue;
                }
                if (frame is null)
                {
                    break;
                }
                var handled = HandleAsync(frame);
                if (!(handled.IsCompletedSuccessfully ? handled.Result : handled.AsTask().GetAwaiter().GetResult()))
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _logger.LogDebug("Connection {Connection} ended: {Reason}", Id, e.Message);
        }
        finally
        {
            Close();
        }
    }

    private bool OnReaderThread => Environment.CurrentManagedThreadId == _readerThread;

    private bool IsBusy => Volatile.Read(ref _outstanding) > 0 || _subscriptions.Count > 0;

    /// <summary>Gives each phase of a read its deadline: the first frame within the handshake time of connecting,
    /// the next frame within the idle time, and a started frame's prefix and payload within theirs.</summary>
    private void EnterPhase(FrameReadPhase phase)
    {
        var options = _server.Options;
        _phase = phase;
        TimeSpan limit = phase switch
        {
            FrameReadPhase.WaitingForFrame => _greeted ? options.IdleTimeout : options.HandshakeTimeout,
            FrameReadPhase.Header => options.HeaderTimeout,
            _ => options.BodyTimeout,
        };
        if (!_greeted)
        {
            var handshakeLeft = options.HandshakeTimeout - _server.Time.GetElapsedTime(_acceptedAt);
            limit = handshakeLeft < limit ? handshakeLeft : limit;
        }
        _stream.SetDeadline(limit > TimeSpan.Zero ? limit : TimeSpan.Zero);
    }

    private void ReportTimeout()
    {
        var options = _server.Options;
        string message = (_greeted, _phase) switch
        {
            (false, _) => $"no complete frame within {options.HandshakeTimeout.TotalSeconds:0.###} s of connecting",
            (true, FrameReadPhase.WaitingForFrame) => $"idle for {options.IdleTimeout.TotalSeconds:0.###} s",
            (true, FrameReadPhase.Header) => $"a frame's length prefix was not completed within {options.HeaderTimeout.TotalSeconds:0.###} s",
            _ => $"a frame's payload was not completed within {options.BodyTimeout.TotalSeconds:0.###} s",
        };
        _server.ConnectionTimedOut();
        _logger.LogInformation("Connection {Connection} closed: {Reason}", Id, message);
        _stream.SetDeadline(null);
        Wait(SendErrorAsync(0, ErrorCode.TimedOut, message + "; the connection is closed"));
    }

    private static void Wait(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Tells a client the daemon cannot take its connection, and closes it.</summary>
    public static async Task RefuseAsync(Socket socket, string reason)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        using var writer = new FrameWriter(stream);
        try
        {
            await writer.WriteAsync(MessageType.Error, 0, new ErrorBody { Code = (int)ErrorCode.Overloaded, Message = reason }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            // The client left first.
        }
    }

    /// <summary>Waits until every accepted request of this connection has been answered (used while draining).</summary>
    public Task RepliesDoneAsync()
    {
        if (Volatile.Read(ref _outstanding) == 0)
        {
            _repliesDone.TrySetResult();
        }
        return _repliesDone.Task;
    }

    /// <summary>Stops reading, cancels this connection's work and closes the socket.</summary>
    public void Close()
    {
        if (_closed.IsCancellationRequested)
        {
            return;
        }
        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return;
        }
        _subscriptions.Close();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
        _stream.Dispose();
    }

    /// <returns>False when the connection must close.</returns>
    private async ValueTask<bool> HandleAsync(Frame frame)
    {
        bool handedOver = false;
        try
        {
            Envelope envelope;
            try
            {
                envelope = FrameCodec.DecodeEnvelope(frame.Payload, _server.Limits);
            }
            catch (ProtocolException e)
            {
                await SendErrorAsync(e.RequestId, e.Code, e.Message).ConfigureAwait(false);
                return true;
            }
            if (!_authenticated && envelope.Type != MessageType.Hello)
            {
                await SendErrorAsync(envelope.RequestId, ErrorCode.Unauthorized, "this connection must say hello with the daemon's token first").ConfigureAwait(false);
                return false;
            }
            try
            {
                switch (envelope.Type)
                {
                    case MessageType.Hello:
                        return await HelloAsync(envelope).ConfigureAwait(false);
                    case MessageType.Infer:
                        handedOver = Infer(envelope, frame);
                        return true;
                    case MessageType.Cancel:
                        if (_jobs.TryGetValue(FrameCodec.DecodeBody<CancelRequest>(envelope).RequestId, out var job))
                        {
                            job.Cancel();
                        }
                        return true;
                    case MessageType.ListModels:
                        await SendAsync(MessageType.ListModels, envelope.RequestId, Operations.ListModels(_server)).ConfigureAwait(false);
                        return true;
                    case MessageType.Status:
                        await SendAsync(MessageType.Status, envelope.RequestId, Operations.Status(_server, FrameCodec.DecodeBody<StatusRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.SetHints:
                        await SendAsync(MessageType.SetHints, envelope.RequestId, Operations.SetHints(_server, FrameCodec.DecodeBody<SetHintsRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.Subscribe:
                        await SendAsync(MessageType.Subscribe, envelope.RequestId, _subscriptions.Subscribe(envelope.RequestId, FrameCodec.DecodeBody<SubscribeRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.Unsubscribe:
                        _subscriptions.Unsubscribe(FrameCodec.DecodeBody<UnsubscribeRequest>(envelope));
                        await SendAsync(MessageType.Unsubscribe, envelope.RequestId, new Acknowledgement()).ConfigureAwait(false);
                        return true;
                    case MessageType.Reload:
                        StartReload(envelope.RequestId, FrameCodec.DecodeBody<ReloadRequest>(envelope));
                        return true;
                    default:
                        throw new ProtocolException(ErrorCode.UnknownOperation, $"message type {(int)envelope.Type} is not an operation this daemon serves");
                }
            }
            catch (ProtocolException e)
            {
                await SendErrorAsync(envelope.RequestId, e.Code, e.Message).ConfigureAwait(false);
                return true;
            }
            catch (RefusedException e)
            {
                await SendErrorAsync(envelope.RequestId, WireMapping.ToWire(e.Refusal), e.Message).ConfigureAwait(false);
                return true;
            }
        }
        finally
        {
            if (!handedOver)
            {
                frame.Dispose();
            }
        }
    }

    private async ValueTask<bool> HelloAsync(Envelope envelope)
    {
        var hello = FrameCodec.DecodeBody<HelloRequest>(envelope);
        if (!_authenticated)
        {
            if (!TokenMatches(hello.Token))
            {
                await SendErrorAsync(envelope.RequestId, ErrorCode.Unauthorized, "wrong or missing token").ConfigureAwait(false);
                return false;
            }
            _authenticated = true;
        }
        await SendAsync(MessageType.Hello, envelope.RequestId, new HelloResponse
        {
            Server = $"edgertd {ServerContext.Version}",
            ProtocolVersion = ProtocolSerializer.Version,
            MaxFrameBytes = _server.Limits.MaxFrameBytes,
            Models = [.. _server.Registry.Models.Select(m => m.Name)],
        }).ConfigureAwait(false);
        return true;
    }

    private bool TokenMatches(string? token)
    {
        string? expected = _server.Options.TcpToken;
        if (token is null || expected is null)
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(token)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));
    }

    /// <returns>Whether the job took the frame.</returns>
    private bool Infer(Envelope envelope, Frame frame)
    {
        if (_server.Draining)
        {
            throw new ProtocolException(ErrorCode.ShuttingDown, "the daemon is shutting down and takes no new requests");
        }
        var request = FrameCodec.DecodeBody<InferRequest>(envelope);
        Operations.CheckInfer(request);
        var model = _server.Registry.Resolve(request.Model);
        var memory = new RequestMemory(frame);
        NamedTensor[] inputs;
        try
        {
            inputs = WireTensors.ToInputs(request.Inputs!, memory);
            if (!request.AllowNonFinite && !_server.Options.AllowsNonFinite(model.Name))
            {
                WireTensors.RejectNonFinite(inputs, model.Name);
            }
            if (_jobs.Count >= _server.Options.MaxPendingPerConnection)
            {
                throw new ProtocolException(ErrorCode.Overloaded, $"this connection already has {_jobs.Count} requests waiting or running (at most {_server.Options.MaxPendingPerConnection})");
            }
        }
        catch
        {
            // The frame stays with the caller, which disposes it.
            memory.ReturnCopies();
            throw;
        }
        var job = new InferenceJob(this, envelope.RequestId, memory, inputs, model, _closed.Token)
        {
            ReceivedAt = _server.Time.GetTimestamp(),
            Deadline = request.DeadlineMs == 0 ? null : TimeSpan.FromMilliseconds(request.DeadlineMs),
            MinQuality = request.MinQuality,
            Priority = request.Priority,
        };
        if (!_jobs.TryAdd(envelope.RequestId, job))
        {
            job.Dispose();
            // The frame went with the job; report without touching it again.
            _ = SendErrorAsync(envelope.RequestId, ErrorCode.InvalidRequest, $"request id {envelope.RequestId} is already in use on this connection").AsTask();
            return true;
        }
        Interlocked.Increment(ref _outstanding);
        if (_server.Scheduler.TryRunInline(job))
        {
            return true;
        }
        if (_server.Scheduler.TryEnqueue(job, out string? reason) is Refusal refusal)
        {
            _jobs.TryRemove(envelope.RequestId, out _);
            job.Dispose();
            PostReply(MessageType.Error, envelope.RequestId, new ErrorBody { Code = (int)WireMapping.ToWire(refusal), Message = reason! });
        }
        return true;
    }

    public void Succeed(InferenceJob job, InferenceOutcome outcome)
    {
        _jobs.TryRemove(job.RequestId, out _);
        PostReply(MessageType.Infer, job.RequestId, WireMapping.ToWire(outcome));
    }

    public void Fail(InferenceJob job, Refusal refusal, string message)
    {
        _jobs.TryRemove(job.RequestId, out _);
        PostReply(MessageType.Error, job.RequestId, new ErrorBody { Code = (int)WireMapping.ToWire(refusal), Message = message });
    }

    /// <summary>Writes a reply to an accepted request without making the worker wait for a slow reader.</summary>
    private void PostReply<T>(MessageType type, uint requestId, T body)
    {
        if (_closed.IsCancellationRequested)
        {
            ReplyDone();
            return;
        }
        if (OnReaderThread)
        {
            WriteOnReaderThread(type, requestId, body);
            return;
        }
        var write = _writer.WriteAsync(type, requestId, body);
        if (write.IsCompletedSuccessfully)
        {
            ReplyDone();
            return;
        }
        _ = ObserveReplyAsync(write, requestId);
    }

    /// <summary>A reply to a request run inline: written by the reader itself, which has nothing else to do meanwhile.</summary>
    private void WriteOnReaderThread<T>(MessageType type, uint requestId, T body)
    {
        try
        {
            _writer.Write(type, requestId, body);
        }
        catch (ProtocolException e)
        {
            Wait(SendErrorAsync(requestId, e.Code, e.Message));
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // A half-written frame leaves the stream unusable.
            _logger.LogDebug("Reply to request {Request} on connection {Connection} lost: {Reason}", requestId, Id, e.Message);
            Close();
        }
        finally
        {
            ReplyDone();
        }
    }

    private async Task ObserveReplyAsync(ValueTask write, uint requestId)
    {
        try
        {
            await write.ConfigureAwait(false);
        }
        catch (ProtocolException e)
        {
            await SendErrorAsync(requestId, e.Code, e.Message).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _logger.LogDebug("Reply to request {Request} on connection {Connection} lost: {Reason}", requestId, Id, e.Message);
        }
        finally
        {
            ReplyDone();
        }
    }

    private void ReplyDone()
    {
        if (Interlocked.Decrement(ref _outstanding) == 0 && _server.Draining)
        {
            _repliesDone.TrySetResult();
        }
    }

    private void StartReload(uint requestId, ReloadRequest request)
    {
        if (_server.Draining)
        {
            throw new ProtocolException(ErrorCode.ShuttingDown, "the daemon is shutting down");
        }
        switch (request.Kind ?? "bundle")
        {
            case "bundle":
                break;
            case "profile":
                // A profile is a few kilobytes of JSON: checked and applied here, on the read loop.
                PostProfileReply(requestId, WireMapping.ToWire(_server.Governance.OfferProfile(request.Profile, request.Path)));
                return;
            default:
                throw new ProtocolException(ErrorCode.InvalidRequest, $"reload: 'kind' must be 'bundle' or 'profile', got '{request.Kind}'");
        }
        var model = _server.Registry.Resolve(request.Model);
        Interlocked.Increment(ref _outstanding);
        _ = ReloadAsync();

        async Task ReloadAsync()
        {
            try
            {
                var reloaded = await model.ReloadAsync(request.Path, _closed.Token).ConfigureAwait(false);
                PostReply(MessageType.Reload, requestId, WireMapping.ToWire(reloaded));
            }
            catch (RefusedException e)
            {
                PostReply(MessageType.Error, requestId, new ErrorBody { Code = (int)WireMapping.ToWire(e.Refusal), Message = e.Message });
            }
            catch (OperationCanceledException)
            {
                ReplyDone();
            }
        }
    }

    private void PostProfileReply(uint requestId, ReloadResponse response)
    {
        Interlocked.Increment(ref _outstanding);
        PostReply(MessageType.Reload, requestId, response);
    }

    private ValueTask SendAsync<T>(MessageType type, uint requestId, T body)
    {
        if (OnReaderThread)
        {
            _writer.Write(type, requestId, body);
            return ValueTask.CompletedTask;
        }
        return _writer.WriteAsync(type, requestId, body, _closed.Token);
    }

    private async ValueTask SendErrorAsync(uint requestId, ErrorCode code, string message)
    {
        try
        {
            await SendAsync(MessageType.Error, requestId, new ErrorBody { Code = (int)code, Message = message }).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _logger.LogDebug("Error reply on connection {Connection} lost: {Reason}", Id, e.Message);
        }
    }
}
