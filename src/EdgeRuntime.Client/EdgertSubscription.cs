using System.Threading.Channels;
using EdgeRuntime.Protocol.Messages;

namespace EdgeRuntime.Client;

/// <summary>Events pushed by the daemon. The reader completes (with an error) if the connection drops.</summary>
public sealed class EdgertSubscription : IAsyncDisposable
{
    private readonly Func<EdgertSubscription, ValueTask> _unsubscribe;

    internal EdgertSubscription(uint id, IReadOnlyList<string> kinds, ChannelReader<ServerEvent> events, Func<EdgertSubscription, ValueTask> unsubscribe)
    {
        Id = id;
        Kinds = kinds;
        Events = events;
        _unsubscribe = unsubscribe;
    }

    public uint Id { get; }
    public IReadOnlyList<string> Kinds { get; }
    public ChannelReader<ServerEvent> Events { get; }

    public ValueTask DisposeAsync() => _unsubscribe(this);
}
