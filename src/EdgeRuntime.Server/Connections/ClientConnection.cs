using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Inference;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Connections;

/// <summary>
/// One client: reads frames and answers them, in any order (replies carry the request id). Inference goes to
/// the scheduler; everything else is answered on the read loop, except reloads, which run aside. Closing the
/// connection cancels its queued and running requests.
/// </summary>
internal sealed class ClientConnection : IJobResponder
{
    private static readonly string[] EventKinds = ["switch", "reload", "thermal", "hints"];

    private readonly ServerContext _server;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closed = new();
    private readonly ConcurrentDictionary<uint, InferenceJob> _jobs = new();
    private readonly ConcurrentDictionary<uint, Subscription> _subscriptions = new();
    private readonly Lock _eventsGate = new();
    private readonly TaskCompletionSource _repliesDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Channel<(Subscription Subscription, ServerEvent Event)>? _events;
    private bool _authenticated;
    private int _outstanding;

    public ClientConnection(ServerContext server, Socket socket, bool requiresToken, long id)
    {
        _server = server;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new FrameReader(_stream, server.Limits);
        _writer = new FrameWriter(_stream, server.Limits.MaxFrameBytes);
        _logger = server.Loggers.CreateLogger<ClientConnection>();
        _authenticated = !requiresToken;
        Id = id;
    }

    public long Id { get; }

    /// <summary>Serves the connection on the calling thread (a thread of its own) until the peer or the daemon closes it.</summary>
    public void Run()
    {
        try
        {
            while (!_closed.IsCancellationRequested)
            {
                Frame? frame;
                try
                {
                    frame = _reader.Read();
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

    private static void Wait(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
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
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Registration.Dispose();
        }
        _subscriptions.Clear();
        _events?.Writer.TryComplete();
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
                        await SendAsync(MessageType.ListModels, envelope.RequestId, new ListModelsResponse { Models = [.. _server.Registry.Models.Select(m => m.Describe())] }).ConfigureAwait(false);
                        return true;
                    case MessageType.Status:
                        await SendAsync(MessageType.Status, envelope.RequestId, Status(FrameCodec.DecodeBody<StatusRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.SetHints:
                        await SendAsync(MessageType.SetHints, envelope.RequestId, SetHints(FrameCodec.DecodeBody<SetHintsRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.Subscribe:
                        await SendAsync(MessageType.Subscribe, envelope.RequestId, Subscribe(envelope.RequestId, FrameCodec.DecodeBody<SubscribeRequest>(envelope))).ConfigureAwait(false);
                        return true;
                    case MessageType.Unsubscribe:
                        Unsubscribe(FrameCodec.DecodeBody<UnsubscribeRequest>(envelope));
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
        if (request.Inputs is null)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "infer: 'inputs' is required");
        }
        if (request.Priority is < 0 or > 2)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"infer: 'priority' must be 0 (low), 1 (normal) or 2 (high), got {request.Priority}");
        }
        if (request.MinQuality is double floor && !double.IsFinite(floor))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "infer: 'min_quality' must be a finite number");
        }
        var model = _server.Registry.Resolve(request.Model);
        var inputs = TensorConversion.ToInputs(request.Inputs);
        if (_jobs.Count >= _server.Options.MaxPendingPerConnection)
        {
            throw new ProtocolException(ErrorCode.Overloaded, $"this connection already has {_jobs.Count} requests waiting or running (at most {_server.Options.MaxPendingPerConnection})");
        }
        var job = new InferenceJob(this, envelope.RequestId, frame, inputs, model, _closed.Token)
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
        if (_server.Scheduler.TryEnqueue(job, out string? reason) is ErrorCode code)
        {
            _jobs.TryRemove(envelope.RequestId, out _);
            job.Dispose();
            PostReply(MessageType.Error, envelope.RequestId, new ErrorBody { Code = (int)code, Message = reason! });
        }
        return true;
    }

    public void Succeed(InferenceJob job, InferResponse response)
    {
        _jobs.TryRemove(job.RequestId, out _);
        PostReply(MessageType.Infer, job.RequestId, response);
    }

    public void Fail(InferenceJob job, ErrorCode code, string message)
    {
        _jobs.TryRemove(job.RequestId, out _);
        PostReply(MessageType.Error, job.RequestId, new ErrorBody { Code = (int)code, Message = message });
    }

    /// <summary>Writes a reply to an accepted request without making the worker wait for a slow reader.</summary>
    private void PostReply<T>(MessageType type, uint requestId, T body)
    {
        if (_closed.IsCancellationRequested)
        {
            ReplyDone();
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

    private StatusResponse Status(StatusRequest request)
    {
        var scheduler = _server.Scheduler;
        var models = request.Model is null ? _server.Registry.Models : [_server.Registry.Resolve(request.Model)];
        var status = new StatusResponse
        {
            Server = new ServerStatus
            {
                Version = ServerContext.Version,
                UptimeMs = (long)_server.Time.GetElapsedTime(_server.StartedAt).TotalMilliseconds,
                Connections = _server.Connections,
                Workers = scheduler.Workers,
                QueueDepth = scheduler.QueueDepth,
                QueueCapacity = scheduler.Capacity,
                InFlight = scheduler.InFlight,
                Completed = scheduler.Completed,
                Failed = scheduler.Failed,
                Overloaded = scheduler.Overloaded,
                Expired = scheduler.Expired,
                Cancelled = scheduler.Cancelled,
                Healthy = scheduler.IsHealthy(_server.Options.StallLimit),
                Draining = _server.Draining,
            },
            Models = [.. models.Select(m => m.Status())],
        };
        _server.Governance.Describe(status);
        return status;
    }

    private SetHintsResponse SetHints(SetHintsRequest request)
    {
        if (request.Hints is null)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "set-hints: 'hints' is required");
        }
        if (request.Hints.Count > _server.Options.MaxHints)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"set-hints: at most {_server.Options.MaxHints} hints per request");
        }
        var model = _server.Registry.Resolve(request.Model);
        var hints = model.SetHints(request.Hints);
        return new SetHintsResponse { Model = model.Name, Hints = hints, CurrentVariant = model.CurrentVariant };
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
                PostProfileReply(requestId, _server.Governance.OfferProfile(request));
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
                var response = await model.ReloadAsync(request.Path, _closed.Token).ConfigureAwait(false);
                PostReply(MessageType.Reload, requestId, response);
            }
            catch (ProtocolException e)
            {
                PostReply(MessageType.Error, requestId, new ErrorBody { Code = (int)e.Code, Message = e.Message });
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

    private SubscribeResponse Subscribe(uint requestId, SubscribeRequest request)
    {
        string[] kinds = request.Events is { Length: > 0 } wanted ? [.. wanted.Distinct()] : EventKinds;
        var unknown = kinds.Where(k => !EventKinds.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"subscribe: unknown event kind(s) {string.Join(", ", unknown)}; known: {string.Join(", ", EventKinds)}");
        }
        if (_subscriptions.Count >= 16)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, "subscribe: at most 16 subscriptions per connection");
        }
        EnsureEventPump();
        var subscription = new Subscription(requestId, [.. kinds]);
        if (!_subscriptions.TryAdd(requestId, subscription))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"subscription {requestId} already exists on this connection");
        }
        var events = _events!;
        subscription.Registration = _server.Events.Subscribe(e =>
        {
            if (subscription.Kinds.Contains(e.Kind) && !events.Writer.TryWrite((subscription, e)))
            {
                Interlocked.Increment(ref subscription.Dropped);
            }
        });
        return new SubscribeResponse { Subscription = requestId, Events = kinds };
    }

    private void Unsubscribe(UnsubscribeRequest request)
    {
        if (!_subscriptions.TryRemove(request.Subscription, out var subscription))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"unsubscribe: no subscription {request.Subscription} on this connection");
        }
        subscription.Registration.Dispose();
    }

    private void EnsureEventPump()
    {
        lock (_eventsGate)
        {
            if (_events is not null)
            {
                return;
            }
            // Wait mode: a full buffer refuses the write, which the sink counts as a dropped event.
            _events = Channel.CreateBounded<(Subscription, ServerEvent)>(new BoundedChannelOptions(_server.Options.EventBufferPerConnection)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
            });
            _ = PumpEventsAsync(_events.Reader);
        }
    }

    private async Task PumpEventsAsync(ChannelReader<(Subscription Subscription, ServerEvent Event)> reader)
    {
        try
        {
            await foreach (var (subscription, serverEvent) in reader.ReadAllAsync(_closed.Token).ConfigureAwait(false))
            {
                if (subscription.Registration is null || !_subscriptions.ContainsKey(subscription.Id))
                {
                    continue;
                }
                long dropped = Interlocked.Exchange(ref subscription.Dropped, 0);
                var delivered = dropped == 0 ? serverEvent : new ServerEvent
                {
                    Kind = serverEvent.Kind,
                    Model = serverEvent.Model,
                    AtUnixMs = serverEvent.AtUnixMs,
                    Switch = serverEvent.Switch,
                    Detail = serverEvent.Detail,
                    Dropped = dropped,
                };
                await _writer.WriteAsync(MessageType.Event, subscription.Id, delivered, _closed.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection closed.
        }
    }

    private ValueTask SendAsync<T>(MessageType type, uint requestId, T body) => _writer.WriteAsync(type, requestId, body, _closed.Token);

    private async ValueTask SendErrorAsync(uint requestId, ErrorCode code, string message)
    {
        try
        {
            await _writer.WriteAsync(MessageType.Error, requestId, new ErrorBody { Code = (int)code, Message = message }, _closed.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            _logger.LogDebug("Error reply on connection {Connection} lost: {Reason}", Id, e.Message);
        }
    }

    private sealed class Subscription(uint id, HashSet<string> kinds)
    {
        public long Dropped;

        public uint Id { get; } = id;
        public HashSet<string> Kinds { get; } = kinds;
        public IDisposable Registration { get; set; } = null!;
    }
}
