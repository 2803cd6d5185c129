using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EdgeRuntime.Protocol;

namespace EdgeRuntime.Uplink;

/// <summary>
/// One MQTT connection kept up in the background. MQTTnet's client does not reconnect by itself: this loop
/// connects, waits for a disconnect (or a failed ping on a quiet connection), and reconnects with exponential
/// backoff. When the broker did not keep our session (a clean start, an expired session, a broker restarted
/// without persistence) every subscription is made again.
/// </summary>
public sealed class MqttSession : IAsyncDisposable
{
    private readonly MqttBrokerOptions _options;
    private readonly TimeSpan _sessionExpiry;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IMqttClient _client;
    private readonly ExponentialBackoff _backoff;
    private readonly Lock _gate = new();
    private readonly List<MqttTopicFilter> _subscriptions = [];
    // Added while disconnected: a resumed session does not know them yet.
    private readonly List<MqttTopicFilter> _unconfirmed = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private long _connects;
    private long _failedAttempts;
    private string? _lastError;

    /// <param name="sessionExpiry">How long the broker keeps our session and queues QoS 1 messages for us while we are away; zero for a clean session.</param>
    public MqttSession(MqttBrokerOptions options, TimeSpan sessionExpiry, TimeProvider? time = null, ILogger? logger = null, Random? jitter = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _sessionExpiry = sessionExpiry;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _backoff = new ExponentialBackoff(options.BackoffMin, options.BackoffMax, random: jitter);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
    }

    /// <summary>Messages on our subscriptions. Acknowledged (QoS 1) once every handler returns, so a handler that stores the message makes delivery at-least-once.</summary>
    public event Func<MqttApplicationMessageReceivedEventArgs, Task>? MessageReceived;

    public MqttBrokerOptions Options => _options;
    public bool IsConnected => _client.IsConnected;
    /// <summary>Successful connections so far (the first one included).</summary>
    public long Connects => Interlocked.Read(ref _connects);
    public long FailedAttempts => Interlocked.Read(ref _failedAttempts);
    public string? LastError => Volatile.Read(ref _lastError);
    public string Endpoint => $"{_options.Host}:{_options.Port}";

    public void Start()
    {
        _loop = Task.Run(() => RunAsync(_stopping.Token));
    }

    /// <summary>Completes once connected (at once when already connected).</summary>
    public Task WaitConnectedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _client.IsConnected && _connected.Task.IsCompleted ? Task.CompletedTask : _connected.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Subscribes now if connected, and again after every reconnect that lost the session.</summary>
    public async Task SubscribeAsync(string topicFilter, CancellationToken cancellationToken)
    {
        var filter = new MqttTopicFilterBuilder().WithTopic(topicFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();
        lock (_gate)
        {
            _subscriptions.Add(filter);
            _unconfirmed.Add(filter);
        }
        if (_client.IsConnected)
        {
            try
            {
                await SubscribeAllAsync([filter], cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _unconfirmed.Remove(filter);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The reconnect after this failure subscribes again.
                _logger.LogWarning("MQTT subscribe to {Topic} failed: {Reason}", topicFilter, e.Message);
                Wake();
            }
        }
    }

    /// <summary>Forgets a subscription (not made again after a reconnect) and tells the broker when connected.</summary>
    public async Task UnsubscribeAsync(string topicFilter, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _subscriptions.RemoveAll(f => f.Topic == topicFilter);
            _unconfirmed.RemoveAll(f => f.Topic == topicFilter);
        }
        if (_client.IsConnected)
        {
            try
            {
                await _client.UnsubscribeAsync(new MqttClientUnsubscribeOptionsBuilder().WithTopicFilter(topicFilter).Build(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A subscription left behind in a lost connection's session only delivers messages nobody asks for.
                _logger.LogDebug("MQTT unsubscribe from {Topic} failed: {Reason}", topicFilter, e.Message);
            }
        }
    }

    /// <summary>Publishes and, for QoS 1, waits for the broker's PUBACK.</summary>
    /// <returns>Null when the broker accepted the message; otherwise why not.</returns>
    /// <exception cref="MqttSessionException">Not connected, or the connection failed before the broker answered.</exception>
    public async Task<string?> PublishAsync(MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        if (!_client.IsConnected)
        {
            throw new MqttSessionException($"not connected to {Endpoint}");
        }
        MqttClientPublishResult result;
        try
        {
            result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Wake();
            throw new MqttSessionException($"publish to {Endpoint} failed: {e.Message}", e);
        }
        // Mosquitto answers "no matching subscribers" when nobody listens yet: the message was still accepted.
        return result.ReasonCode is MqttClientPublishReasonCode.Success or MqttClientPublishReasonCode.NoMatchingSubscribers
            ? null
            : $"broker refused the message: {result.ReasonCode} {result.ReasonString}".TrimEnd();
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        var clientOptions = _options.Build(_sessionExpiry);
        while (!stopping.IsCancellationRequested)
        {
            if (!_client.IsConnected)
            {
                try
                {
                    var result = await _client.ConnectAsync(clientOptions, stopping).ConfigureAwait(false);
                    if (result.ResultCode != MqttClientConnectResultCode.Success)
                    {
                        throw new MqttSessionException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
                    }
                    List<MqttTopicFilter> subscriptions;
                    lock (_gate)
                    {
                        subscriptions = result.IsSessionPresent ? [.. _unconfirmed] : [.. _subscriptions];
                    }
                    if (subscriptions.Count > 0)
                    {
                        await SubscribeAllAsync(subscriptions, stopping).ConfigureAwait(false);
                        lock (_gate)
                        {
                            _unconfirmed.RemoveAll(subscriptions.Contains);
                        }
                    }
                    _backoff.Reset();
                    Interlocked.Increment(ref _connects);
                    Volatile.Write(ref _lastError, null);
                    _logger.LogInformation("MQTT connected to {Endpoint} as {ClientId} (session {Session})", Endpoint, _options.ClientId,
                        result.IsSessionPresent ? "resumed" : "new");
                    lock (_gate)
                    {
                        _connected.TrySetResult();
                    }
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref _failedAttempts);
                    Volatile.Write(ref _lastError, e.Message);
                    var wait = _backoff.Next();
                    _logger.LogWarning("MQTT connection to {Endpoint} failed ({Reason}); retrying in {Wait:F1} s", Endpoint, e.Message, wait.TotalSeconds);
                    await DisconnectQuietlyAsync().ConfigureAwait(false);
                    try
                    {
                        await Task.Delay(wait, _time, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    continue;
                }
            }
            // Sleep until a disconnect or a failed publish wakes us, or the keep-alive period passes.
            try
            {
                await _wake.WaitAsync(_options.KeepAlive, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (_client.IsConnected && !await PingAsync(stopping).ConfigureAwait(false))
            {
                _logger.LogWarning("MQTT ping to {Endpoint} failed; reconnecting", Endpoint);
                await DisconnectQuietlyAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task<bool> PingAsync(CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            return await _client.TryPingAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return false;
        }
    }

    private async Task SubscribeAllAsync(IReadOnlyList<MqttTopicFilter> filters, CancellationToken cancellationToken)
    {
        var builder = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            builder.WithTopicFilter(filter);
        }
        var result = await _client.SubscribeAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        foreach (var item in result.Items)
        {
            if (item.ResultCode > MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new MqttSessionException($"broker refused the subscription to '{item.TopicFilter.Topic}': {item.ResultCode}");
            }
        }
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        lock (_gate)
        {
            if (_connected.Task.IsCompleted)
            {
                _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (!_stopping.IsCancellationRequested)
                {
                    _logger.LogWarning("MQTT disconnected from {Endpoint}: {Reason}", Endpoint, e.Exception?.Message ?? e.Reason.ToString());
                }
            }
        }
        Wake();
        return Task.CompletedTask;
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        if (MessageReceived is { } handlers)
        {
            foreach (var handler in handlers.GetInvocationList().Cast<Func<MqttApplicationMessageReceivedEventArgs, Task>>())
            {
                await handler(e).ConfigureAwait(false);
            }
        }
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    private async Task DisconnectQuietlyAsync()
    {
        try
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _logger.LogDebug("MQTT disconnect: {Reason}", e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await DisconnectQuietlyAsync().ConfigureAwait(false);
        _client.Dispose();
        _stopping.Dispose();
        _wake.Dispose();
    }
}

/// <summary>The broker could not be reached or dropped the connection before it answered.</summary>
public sealed class MqttSessionException(string message, Exception? inner = null) : Exception(message, inner);
