using EdgeRuntime.Protocol;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Server.Inference;
using EdgeRuntime.Server.Models;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Connections;

/// <summary>What every connection shares: options, models, the scheduler, the event hub, the device loop and the clock.</summary>
internal sealed class ServerContext(ServerOptions options, ModelRegistry registry, InferenceScheduler scheduler, EventHub events, GovernorLoop governance,
    TimeProvider time, ILoggerFactory loggers)
{
    public static readonly string Version = typeof(ServerContext).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private int _connections;
    private volatile bool _draining;

    public ServerOptions Options { get; } = options;
    public FrameLimits Limits { get; } = options.Limits;
    public ModelRegistry Registry { get; } = registry;
    public InferenceScheduler Scheduler { get; } = scheduler;
    public EventHub Events { get; } = events;
    public GovernorLoop Governance { get; } = governance;
    public TimeProvider Time { get; } = time;
    public ILoggerFactory Loggers { get; } = loggers;
    public long StartedAt { get; } = time.GetTimestamp();
    /// <summary>The daemon's CPU time against its completed inferences, over the last minute.</summary>
    public EdgeRuntime.Inference.CpuMeter Cpu { get; } = new(time, TimeSpan.FromMinutes(1));
    public int Connections => Volatile.Read(ref _connections);
    public bool Draining => _draining;

    public void BeginDraining() => _draining = true;
    public int ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
}
