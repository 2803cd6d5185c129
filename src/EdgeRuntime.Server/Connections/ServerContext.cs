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
    private long _timedOut;
    private long _refused;
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
    /// <summary>The device telemetry log, when the daemon keeps one.</summary>
    public EdgeRuntime.Telemetry.TelemetryLog? Telemetry { get; init; }
    /// <summary>The daemon's CPU time against its completed inferences, over the last minute.</summary>
    public EdgeRuntime.Inference.CpuMeter Cpu { get; } = new(time, TimeSpan.FromMinutes(1));
    public int Connections => Volatile.Read(ref _connections);
    public bool Draining => _draining;

    /// <summary>Connections closed for a handshake, idle, header or body timeout since the start.</summary>
    public long TimedOut => Interlocked.Read(ref _timedOut);
    /// <summary>Connections refused at accept (daemon full, or the peer's user or process at its share).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public void ConnectionTimedOut() => Interlocked.Increment(ref _timedOut);
    public void ConnectionRefused() => Interlocked.Increment(ref _refused);
    public void BeginDraining() => _draining = true;
    public int ConnectionOpened() => Interlocked.Increment(ref _connections);
    public void ConnectionClosed() => Interlocked.Decrement(ref _connections);
}
