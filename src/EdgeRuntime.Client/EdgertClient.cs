using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Client;

/// <summary>
/// Talks to edgertd. Thread-safe; calls from any number of tasks share one connection (requests are
/// pipelined and answered by id). A dropped connection fails the calls waiting on it with
/// <see cref="EdgertConnectionException"/>; the next call reconnects, backing off between attempts.
/// </summary>
public sealed class EdgertClient : IAsyncDisposable
{
    private readonly EdgertClientOptions _options;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private ClientConnection? _connection;
    private HelloResponse? _hello;
    private int _nextId;
    private int _disposed;

    public EdgertClient(EdgertClientOptions options, TimeProvider? time = null)
    {
        options.Validate();
        _options = options;
        _time = time ?? TimeProvider.System;
    }

    public EdgertClient(string socketPath) : this(new EdgertClientOptions { SocketPath = socketPath })
    {
    }

    /// <summary>The daemon's hello from the current connection, once connected.</summary>
    public HelloResponse? Server => _hello;

    /// <summary>Times a connection was (re)established.</summary>
    public int Connects { get; private set; }

    /// <summary>Connects now (calls connect on demand otherwise) and returns the daemon's hello.</summary>
    public async Task<HelloResponse> ConnectAsync(CancellationToken cancellationToken = default)
    {
        await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        return _hello!;
    }

    /// <summary>A hello round trip on the current connection: the cost of the protocol hop without any work.</summary>
    public Task<HelloResponse> PingAsync(CancellationToken cancellationToken = default) =>
        CallAsync<HelloRequest, HelloResponse>(MessageType.Hello, new HelloRequest { Client = _options.ClientName, Token = _options.Token }, cancellationToken);

    public async Task<InferResult> InferAsync(IReadOnlyList<WireTensor> inputs, InferOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new InferOptions();
        var request = new InferRequest
        {
            Model = options.Model,
            Inputs = [.. inputs],
            DeadlineMs = options.Deadline is TimeSpan deadline ? (uint)Math.Clamp(Math.Ceiling(deadline.TotalMilliseconds), 1, uint.MaxValue) : 0,
            MinQuality = options.MinQuality,
            Priority = (int)options.Priority,
            AllowNonFinite = options.AllowNonFinite,
        };
        var response = await CallAsync<InferRequest, InferResponse>(MessageType.Infer, request, cancellationToken).ConfigureAwait(false);
        return new InferResult(response.Model, response.Variant, response.Outputs,
            TimeSpan.FromMicroseconds(response.RunMicroseconds), TimeSpan.FromMicroseconds(response.QueueMicroseconds));
    }

    public Task<InferResult> InferAsync(WireTensor input, InferOptions? options = null, CancellationToken cancellationToken = default) =>
        InferAsync([input], options, cancellationToken);

    public Task<ListModelsResponse> ListModelsAsync(CancellationToken cancellationToken = default) =>
        CallAsync<ListModelsRequest, ListModelsResponse>(MessageType.ListModels, new ListModelsRequest(), cancellationToken);

    public Task<StatusResponse> StatusAsync(string? model = null, CancellationToken cancellationToken = default) =>
        CallAsync<StatusRequest, StatusResponse>(MessageType.Status, new StatusRequest { Model = model }, cancellationToken);

    /// <summary>Sets hints for the policy; an empty value removes one, and "variant" pins a variant at once.</summary>
    public Task<SetHintsResponse> SetHintsAsync(IReadOnlyDictionary<string, string> hints, string? model = null, CancellationToken cancellationToken = default) =>
        CallAsync<SetHintsRequest, SetHintsResponse>(MessageType.SetHints, new SetHintsRequest { Model = model, Hints = new Dictionary<string, string>(hints) }, cancellationToken);

    /// <summary>Opens a bundle (or reopens the current one when <paramref name="path"/> is null) and swaps it in.</summary>
    public Task<ReloadResponse> ReloadAsync(string? path = null, string? model = null, CancellationToken cancellationToken = default) =>
        CallAsync<ReloadRequest, ReloadResponse>(MessageType.Reload, new ReloadRequest { Model = model, Path = path, Kind = "bundle" }, cancellationToken);

    /// <summary>Receives events of the given kinds ("switch", "reload", "thermal", "hints"; all when empty).</summary>
    public async Task<EdgertSubscription> SubscribeAsync(IEnumerable<string>? kinds = null, CancellationToken cancellationToken = default)
    {
        var connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        uint id = NextId();
        var channel = Channel.CreateBounded<ServerEvent>(new BoundedChannelOptions(_options.EventBuffer) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = false });
        connection.Subscriptions[id] = channel;
        try
        {
            var response = await SendAndReceiveAsync<SubscribeRequest, SubscribeResponse>(connection, id, MessageType.Subscribe,
                new SubscribeRequest { Events = kinds?.ToArray() }, cancellationToken).ConfigureAwait(false);
            return new EdgertSubscription(id, response.Events, channel.Reader, subscription => UnsubscribeAsync(connection, subscription));
        }
        catch
        {
            connection.Subscriptions.TryRemove(id, out _);
            throw;
        }
    }

    private async ValueTask UnsubscribeAsync(ClientConnection connection, EdgertSubscription subscription)
    {
        if (connection.Subscriptions.TryRemove(subscription.Id, out var channel))
        {
            channel.Writer.TryComplete();
            if (connection.IsOpen)
            {
                try
                {
                    await SendAndReceiveAsync<UnsubscribeRequest, Acknowledgement>(connection, NextId(), MessageType.Unsubscribe,
                        new UnsubscribeRequest { Subscription = subscription.Id }, CancellationToken.None).ConfigureAwait(false);
                }
                catch (EdgertException)
                {
                    // The subscription dies with the connection anyway.
                }
            }
        }
    }

    private async Task<TResponse> CallAsync<TRequest, TResponse>(MessageType type, TRequest request, CancellationToken cancellationToken)
        where TResponse : class, new()
    {
        var connection = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await SendAndReceiveAsync<TRequest, TResponse>(connection, NextId(), type, request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<TResponse> SendAndReceiveAsync<TRequest, TResponse>(ClientConnection connection, uint id, MessageType type, TRequest request, CancellationToken cancellationToken)
        where TResponse : class, new()
    {
        cancellationToken.ThrowIfCancellationRequested();
        // Completed synchronously by the read loop: the caller continues on that thread without another hop, so
        // code after an await on this client must not block waiting for another reply of the same client.
        var pending = new TaskCompletionSource<Envelope>();
        connection.Pending[id] = pending;
        try
        {
            await connection.Writer.WriteAsync(type, id, request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ProtocolException e)
        {
            connection.Pending.TryRemove(id, out _);
            throw new EdgertException(e.Code, e.Message, e);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            connection.Pending.TryRemove(id, out _);
            // The daemon may have said why it closed (Overloaded at its connection cap) just before the write failed:
            // that reason, not the broken pipe it caused, is the answer.
            if (await connection.ReasonForClosingAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false) is EdgertException reason and not EdgertConnectionException)
            {
                throw new EdgertException(reason.Code, reason.Message, e);
            }
            connection.Fail(new EdgertConnectionException($"the connection to the daemon dropped: {e.Message}", e));
            throw new EdgertConnectionException($"sending to the daemon at {_options.Endpoint} failed: {e.Message}", e);
        }
        Envelope envelope;
        using (cancellationToken.UnsafeRegister(_ => OnCancelled(connection, id, type, pending, cancellationToken), null))
        {
            envelope = await pending.Task.ConfigureAwait(false);
        }
        if (envelope.Type == MessageType.Error)
        {
            var error = Decode<ErrorBody>(envelope);
            throw new EdgertException((ErrorCode)error.Code, error.Message);
        }
        if (envelope.Type != type)
        {
            throw new EdgertException(ErrorCode.MalformedFrame, $"the daemon answered a {type} request with {envelope.Type}");
        }
        return Decode<TResponse>(envelope);
    }

    private void OnCancelled(ClientConnection connection, uint id, MessageType type, TaskCompletionSource<Envelope> pending, CancellationToken cancellationToken)
    {
        if (!pending.TrySetCanceled(cancellationToken))
        {
            return;
        }
        connection.Pending.TryRemove(id, out _);
        if (type == MessageType.Infer && connection.IsOpen)
        {
            // Tell the daemon so it drops the work instead of running it for no one.
            _ = connection.Writer.WriteAsync(MessageType.Cancel, NextId(), new CancelRequest { RequestId = id }).AsTask()
                .ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
        }
    }

    private static T Decode<T>(in Envelope envelope) where T : class, new()
    {
        try
        {
            return FrameCodec.DecodeBody<T>(envelope);
        }
        catch (ProtocolException e)
        {
            throw new EdgertException(ErrorCode.MalformedFrame, $"the daemon's reply cannot be read: {e.Message}", e);
        }
    }

    private uint NextId()
    {
        uint id;
        do
        {
            id = (uint)Interlocked.Increment(ref _nextId);
        }
        while (id == 0);
        return id;
    }

    private async ValueTask<ClientConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var current = _connection;
        if (current is { IsOpen: true })
        {
            return current;
        }
        await _connectGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _connection;
            if (current is { IsOpen: true })
            {
                return current;
            }
            if (current is not null)
            {
                await current.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }
            Exception? last = null;
            // Jitter keeps many clients of a restarted daemon from reconnecting in lockstep.
            var backoff = new ExponentialBackoff(_options.InitialBackoff, _options.MaxBackoff, jitter: 0.5);
            for (int attempt = 0; attempt < _options.MaxConnectAttempts; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(backoff.Next(), _time, cancellationToken).ConfigureAwait(false);
                }
                try
                {
                    var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
                    _connection = connection;
                    Connects++;
                    return connection;
                }
                catch (EdgertException e) when (e is not EdgertConnectionException)
                {
                    throw;
                }
                catch (Exception e) when (e is SocketException or IOException or EdgertConnectionException or TimeoutException)
                {
                    last = e;
                }
            }
            throw new EdgertConnectionException($"cannot reach edgertd at {_options.Endpoint} after {_options.MaxConnectAttempts} attempt(s): {last?.Message}", last);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    private async Task<ClientConnection> OpenAsync(CancellationToken cancellationToken)
    {
        Socket socket;
        EndPoint endpoint;
        if (_options.TcpPort is int port)
        {
            var address = IPAddress.TryParse(_options.TcpHost, out var parsed) ? parsed : (await Dns.GetHostAddressesAsync(_options.TcpHost, cancellationToken).ConfigureAwait(false))[0];
            socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            endpoint = new IPEndPoint(address, port);
        }
        else
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            endpoint = new UnixDomainSocketEndPoint(_options.SocketPath);
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ConnectTimeout);
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"connecting to {_options.Endpoint} took longer than {_options.ConnectTimeout}");
            }
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var connection = new ClientConnection(socket, _options.MaxFrameBytes);
        try
        {
            _hello = await SendAndReceiveAsync<HelloRequest, HelloResponse>(connection, NextId(), MessageType.Hello,
                new HelloRequest { Client = _options.ClientName, Token = _options.Token }, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
        }
        _connectGate.Dispose();
    }
}
