using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Domain;

namespace EdgeRuntime.Server.Connections;

/// <summary>
/// A connection's event subscriptions and the pump that writes their events. Publishing never waits for this
/// client: a full buffer drops the event and the next one delivered says how many were lost.
/// </summary>
internal sealed class EventSubscriptions(ServerContext server, FrameWriter writer, CancellationToken closed)
{
    private const int MaxSubscriptions = 16;

    private readonly ConcurrentDictionary<uint, Subscription> _subscriptions = new();
    private readonly Lock _gate = new();
    private Channel<(Subscription Subscription, DaemonEvent Event)>? _events;

    /// <summary>Subscriptions open now: a connection with one is waiting for events, not idle.</summary>
    public int Count => _subscriptions.Count;

    public SubscribeResponse Subscribe(uint requestId, SubscribeRequest request)
    {
        string[] kinds = request.Events is { Length: > 0 } wanted ? [.. wanted.Distinct()] : WireMapping.EventKinds;
        var unknown = kinds.Where(k => !WireMapping.EventKinds.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"subscribe: unknown event kind(s) {string.Join(", ", unknown)}; known: {string.Join(", ", WireMapping.EventKinds)}");
        }
        if (_subscriptions.Count >= MaxSubscriptions)
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"subscribe: at most {MaxSubscriptions} subscriptions per connection");
        }
        var events = EnsurePump();
        var subscription = new Subscription(requestId, [.. kinds]);
        if (!_subscriptions.TryAdd(requestId, subscription))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"subscription {requestId} already exists on this connection");
        }
        subscription.Registration = server.Events.Subscribe(e =>
        {
            if (subscription.Kinds.Contains(WireMapping.KindOf(e)) && !events.Writer.TryWrite((subscription, e)))
            {
                Interlocked.Increment(ref subscription.Dropped);
            }
        });
        return new SubscribeResponse { Subscription = requestId, Events = kinds };
    }

    public void Unsubscribe(UnsubscribeRequest request)
    {
        if (!_subscriptions.TryRemove(request.Subscription, out var subscription))
        {
            throw new ProtocolException(ErrorCode.InvalidRequest, $"unsubscribe: no subscription {request.Subscription} on this connection");
        }
        subscription.Registration.Dispose();
    }

    /// <summary>Ends every subscription and the pump (the connection is closing).</summary>
    public void Close()
    {
        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Registration.Dispose();
        }
        _subscriptions.Clear();
        lock (_gate)
        {
            _events?.Writer.TryComplete();
        }
    }

    private Channel<(Subscription, DaemonEvent)> EnsurePump()
    {
        lock (_gate)
        {
            if (_events is null)
            {
                // Wait mode: a full buffer refuses the write, which the sink counts as a dropped event.
                _events = Channel.CreateBounded<(Subscription, DaemonEvent)>(new BoundedChannelOptions(server.Options.EventBufferPerConnection)
                {
                    FullMode = BoundedChannelFullMode.Wait,
                    SingleReader = true,
                });
                _ = PumpAsync(_events.Reader);
            }
            return _events;
        }
    }

    private async Task PumpAsync(ChannelReader<(Subscription Subscription, DaemonEvent Event)> reader)
    {
        try
        {
            await foreach (var (subscription, daemonEvent) in reader.ReadAllAsync(closed).ConfigureAwait(false))
            {
                if (subscription.Registration is null || !_subscriptions.ContainsKey(subscription.Id))
                {
                    continue;
                }
                long dropped = Interlocked.Exchange(ref subscription.Dropped, 0);
                await writer.WriteAsync(MessageType.Event, subscription.Id, WireMapping.ToWire(daemonEvent, dropped), closed).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The connection closed.
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
