using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeRuntime.Server.Hosting;

/// <summary>
/// Runs <see cref="EdgertdServer"/> as a hosted service and speaks sd_notify: READY=1 once it serves,
/// WATCHDOG=1 every half watchdog interval while the inference loop is healthy and the governor's ticks have not
/// been failing for longer than the watchdog interval, STOPPING=1 when it drains.
/// </summary>
public sealed class EdgertdService : IHostedService, IAsyncDisposable
{
    private readonly EdgertdServer _server;
    private readonly SystemdNotifier? _notifier;
    private readonly TimeSpan? _watchdogInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private Task _watchdog = Task.CompletedTask;

    public EdgertdService(IOptions<ServerOptions> options, TimeProvider time, ILoggerFactory loggers)
        : this(new EdgertdServer(options.Value, time, loggers), Environment.GetEnvironmentVariable, time, loggers.CreateLogger<EdgertdService>())
    {
    }

    public EdgertdService(EdgertdServer server, Func<string, string?> environment, TimeProvider time, ILogger logger)
    {
        _server = server;
        _time = time;
        _logger = logger;
        _notifier = SystemdNotifier.FromEnvironment(environment);
        _watchdogInterval = SystemdNotifier.WatchdogInterval(environment, Environment.ProcessId);
    }

    public EdgertdServer Server => _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _server.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_notifier is null)
        {
            return;
        }
        _notifier.Ready($"serving {string.Join(", ", _server.Models)} on {_server.SocketPath}");
        if (_watchdogInterval is TimeSpan interval)
        {
            _logger.LogInformation("Pinging the systemd watchdog every {Period}", interval / 2);
            _watchdog = WatchdogLoopAsync(interval / 2, _stopping.Token);
        }
    }

    /// <summary>
    /// Pings the watchdog if the daemon is healthy; a stuck worker, or a governor whose ticks keep failing for
    /// longer than the watchdog interval, withholds the ping so systemd restarts us.
    /// </summary>
    public bool PingWatchdogIfHealthy()
    {
        if (_notifier is null)
        {
            return false;
        }
        if (!_server.IsHealthy)
        {
            _logger.LogWarning("Unhealthy: withholding the watchdog ping");
            return false;
        }
        if (_watchdogInterval is TimeSpan interval && _server.GovernorStalledFor is var stalled && stalled > interval)
        {
            _logger.LogWarning("The governor has not completed a tick for {Stalled}: withholding the watchdog ping", stalled);
            return false;
        }
        return _notifier.Watchdog();
    }

    private async Task WatchdogLoopAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                PingWatchdogIfHealthy();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _notifier?.Stopping();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watchdog.ConfigureAwait(false);
        await _server.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync().ConfigureAwait(false);
        _notifier?.Dispose();
        _stopping.Dispose();
    }
}
