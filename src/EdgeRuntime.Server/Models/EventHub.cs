using EdgeRuntime.Server.Domain;

namespace EdgeRuntime.Server.Models;

/// <summary>Fans daemon events out to subscribers. Publishing never blocks: each sink buffers or drops on its own.</summary>
internal sealed class EventHub
{
    private readonly Lock _gate = new();
    private Action<DaemonEvent>[] _sinks = [];

    public IDisposable Subscribe(Action<DaemonEvent> sink)
    {
        lock (_gate)
        {
            _sinks = [.. _sinks, sink];
        }
        return new Subscription(this, sink);
    }

    public void Publish(DaemonEvent daemonEvent)
    {
        foreach (var sink in Volatile.Read(ref _sinks))
        {
            sink(daemonEvent);
        }
    }

    private void Remove(Action<DaemonEvent> sink)
    {
        lock (_gate)
        {
            _sinks = [.. _sinks.Where(s => s != sink)];
        }
    }

    private sealed class Subscription(EventHub hub, Action<DaemonEvent> sink) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                hub.Remove(sink);
            }
        }
    }
}
