using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;
using EdgeRuntime.Deployment;
using EdgeRuntime.Inference;
using EdgeRuntime.Server.Connections;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Server.Hosting;
using EdgeRuntime.Server.Inference;
using EdgeRuntime.Server.Models;
using EdgeRuntime.Server.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Server;

/// <summary>
/// The daemon without its host: opens the bundles, reads the board's sensors and runs the governor on them,
/// listens on the Unix socket (and loopback TCP when asked), serves connections, and on stop drains every
/// accepted request before closing. Usable in-process (tests,
/// benchmarks, `edgert serve`) as well as under systemd through <see cref="EdgertdService"/>.
/// </summary>
public sealed class EdgertdServer : IAsyncDisposable
{
    private readonly ServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly ConcurrentDictionary<long, (AppConnection Connection, Task Run)> _connections = new();
    private readonly List<Task> _acceptLoops = [];
    private readonly List<Socket> _listeners = [];
    private ServerContext? _context;
    private DaemonTelemetry? _telemetry;
    private DaemonUplink? _uplink;
    private BundleStore? _store;
    private long _nextConnectionId;
    private long _lastRefusalLog;
    private PeerShares _peerShares = null!;
    private int _state;

    public EdgertdServer(ServerOptions options, TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        _options = options;
        _time = time ?? TimeProvider.System;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger<EdgertdServer>();
    }

    public string SocketPath => _options.ResolvedSocketPath;

    /// <summary>The TCP endpoint actually bound (port 0 picks one), or null without TCP.</summary>
    public IPEndPoint? TcpEndPoint { get; private set; }

    public IReadOnlyList<string> Models => _context?.Registry.Models.Select(m => m.Name).ToList() ?? [];

    /// <summary>Serving, and no worker stuck on one request beyond the stall limit.</summary>
    public bool IsHealthy => _context is { Draining: false } context && context.Scheduler.IsHealthy(_options.StallLimit);

    /// <summary>How long the governor's ticks have been failing (or one has been running); zero while they succeed.</summary>
    public TimeSpan GovernorStalledFor => _context?.Governance.StalledFor ?? TimeSpan.Zero;

    /// <summary>Builds the device monitor instead of the board's sysfs sources (fault injection in tests).</summary>
    internal Func<BoardDescriptor, SysfsRoot, IDeviceMonitor>? MonitorFactory { get; init; }

    /// <summary>Creates telemetry segment files instead of the file system (a full disk in tests), and how long the
    /// log waits after a failed write before trying the disk again.</summary>
    internal (Func<string, Stream> CreateSegment, TimeSpan RetryInterval)? TelemetryStorage { get; init; }

    internal GovernorLoop Governance => Context.Governance;

    /// <summary>The telemetry log, when TelemetryDirectory is set.</summary>
    internal DaemonTelemetry? Telemetry => _telemetry;

    /// <summary>The MQTT uplink, when MqttBroker is set.</summary>
    internal DaemonUplink? Uplink => _uplink;

    internal InferenceScheduler Scheduler => Context.Scheduler;
    internal ModelRegistry Registry => Context.Registry;
    private ServerContext Context => _context ?? throw new InvalidOperationException("the server has not started");

    /// <exception cref="ArgumentException">Invalid options.</exception>
    /// <exception cref="IOException">The socket is in use or cannot be given its mode or group.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("the server was already started");
        }
        _options.ValidateOrThrow();
        var runtimeOptions = new RuntimeOptions { IntraOpThreads = _options.IntraOpThreads, Knobs = _options.FixedKnobs ?? DefaultKnobs(_options), CpuMemoryArena = _options.CpuMemoryArena, SharedCpuArena = _options.SharedCpuArena, StandbyOnly = _options.StandbyOnly };
        var events = new EventHub();
        var hosts = new List<ModelHost>();
        GovernorLoop? governance = null;
        try
        {
            if (_options.StoreRoot is not null)
            {
                _store = new BundleStore(new BundleStoreOptions
                {
                    Root = _options.StoreRoot,
                    TrustedKeysDirectory = _options.TrustedKeysDirectory!,
                    Probation = new ProbationOptions { Period = TimeSpan.FromSeconds(_options.ProbationSeconds), MaxLatencyRatio = _options.ProbationMaxLatencyRatio },
                }, ActivateFromStoreAsync, new SchedulerHealth(this), _time, _loggers.CreateLogger<BundleStore>());
            }
            var served = _options.Bundles.Select(_options.ResolveBundlePath)
                .Concat(_store?.BundleNames().Select(_store.ActiveDirectory).OfType<string>() ?? [])
                .ToList();
            if (served.Count == 0)
            {
                throw new ArgumentException($"the bundle store '{_options.StoreRoot}' has no active version of any bundle yet, and no bundle was given to serve");
            }
            foreach (string path in served)
            {
                if (BundleTrust.Problem(path, _options.TrustedKeysDirectory) is string untrusted)
                {
                    throw new ArgumentException($"bundle '{path}' refused: {untrusted}");
                }
                var host = await Task.Run(() => ModelHost.Open(path, runtimeOptions, _options, _time, _loggers.CreateLogger<ModelHost>(), events), cancellationToken).ConfigureAwait(false);
                hosts.Add(host);
                if (hosts.Count(h => h.Name == host.Name) > 1)
                {
                    throw new ArgumentException($"two bundles are named '{host.Name}' ({string.Join(", ", hosts.Where(h => h.Name == host.Name).Select(h => h.Path))}); model names must be unique");
                }
                _logger.LogInformation("Serving {Model} from {Path} on variant {Variant}", host.Name, path, host.CurrentVariant);
            }
            governance = GovernorLoop.Create(_options, hosts, events, _time, _loggers, MonitorFactory);
            governance.Start();
            if (_options.TelemetryDirectory is not null)
            {
                _telemetry = DaemonTelemetry.Start(_options, governance, hosts, events, _time, _loggers, TelemetryStorage);
            }
            if (_options.MqttBroker is not null)
            {
                _uplink = await DaemonUplink.StartAsync(_options, governance, _telemetry?.Log, _store, [.. hosts.Select(h => h.Name)], _time, _loggers, cancellationToken)
                    .ConfigureAwait(false);
            }
            var scheduler = new InferenceScheduler(_options.ResolvedWorkers, _options.QueueCapacity, _time, _loggers.CreateLogger<InferenceScheduler>());
            _context = new ServerContext(_options, new ModelRegistry(hosts), scheduler, events, governance, _time, _loggers) { Telemetry = _telemetry?.Log };
            _peerShares = new PeerShares(_options.MaxConnectionsPerUser, _options.MaxConnectionsPerProcess);
            if (_uplink is not null)
            {
                await _uplink.StartDeploymentAsync(cancellationToken).ConfigureAwait(false);
            }
            ListenOnUnixSocket();
            if (_options.TcpPort is int port)
            {
                ListenOnTcp(port);
            }
        }
        catch
        {
            Volatile.Write(ref _state, 3);
            foreach (var listener in _listeners)
            {
                listener.Dispose();
            }
            await StopFleetLinkAsync().ConfigureAwait(false);
            governance?.Dispose();
            _store?.Dispose();
            if (_context is not null)
            {
                await _context.Scheduler.DrainAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            foreach (var host in hosts)
            {
                host.Dispose();
            }
            throw;
        }
    }

    /// <summary>The device bundle store, when <see cref="ServerOptions.StoreRoot"/> is set: delivery installs and activates through it.</summary>
    public IDeviceDeployment? Deployment => _store;

    /// <summary>A store activation: the served model's drained hot swap onto the new version's directory.</summary>
    private async Task ActivateFromStoreAsync(string bundleName, string directory, CancellationToken cancellationToken)
    {
        var host = Context.Registry.Models.FirstOrDefault(m => m.Name == bundleName)
            ?? throw new InvalidOperationException($"'{bundleName}' is not served by this daemon; a new bundle name is served after a restart");
        await host.ReloadAsync(directory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Probation's view of live traffic: the scheduler's counters, which cover every model the daemon serves
    /// (a request past its deadline counts as missing the SLO, a failed one as an error).
    /// </summary>
    private sealed class SchedulerHealth(EdgertdServer server) : IServingHealth
    {
        public ServingCounters Read(string bundleName)
        {
            var scheduler = server.Context.Scheduler;
            long completed = scheduler.Completed, failed = scheduler.Failed, expired = scheduler.Expired;
            return new ServingCounters(completed + failed + expired, failed, completed);
        }
    }

    private void ListenOnUnixSocket()
    {
        string path = SocketPath;
        if (Directory.Exists(path))
        {
            throw new IOException($"socket path '{path}' is a directory; give the path of the socket file to create (for example '{Path.Combine(path, ServerOptions.DefaultSocketName)}')");
        }
        string? parent = Path.GetDirectoryName(path);
        if (parent is not null && File.Exists(parent))
        {
            throw new IOException($"cannot create socket '{path}': '{parent}' is a file, not a directory");
        }
        Directory.CreateDirectory(parent!);
        if (File.Exists(path))
        {
            // Only a socket file left by a crash is removed; a live daemon's socket, or any other file, is not.
            if (!OperatingSystem.IsWindows() && !UnixSocketPermissions.IsSocketFile(path))
            {
                throw new IOException($"socket path '{path}' exists and is not a socket; the daemon will not replace it (remove it or choose another --socket)");
            }
            using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"another daemon is listening on '{path}'");
            }
            catch (SocketException)
            {
                File.Delete(path);
            }
        }
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listeners.Add(listener);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot listen on socket '{path}': {e.Message}", e);
        }
        listener.Listen(512);
        if (!OperatingSystem.IsWindows())
        {
            UnixSocketPermissions.Apply(path, _options.ResolvedSocketMode, _options.SocketGroup);
        }
        _logger.LogInformation("Listening on {Socket} (mode {Mode}, group {Group})", path, _options.SocketMode, _options.SocketGroup ?? "unchanged");
        _acceptLoops.Add(AcceptLoopAsync(listener, requiresToken: false));
    }

    private void ListenOnTcp(int port)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listeners.Add(listener);
        var address = IPAddress.Parse(_options.TcpAddress);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            listener.Dispose();
            _listeners.Remove(listener);
            listener = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            _listeners.Add(listener);
        }
        listener.Bind(new IPEndPoint(address, port));
        listener.Listen(512);
        TcpEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _logger.LogInformation("Listening on tcp {EndPoint} (token required)", TcpEndPoint);
        _acceptLoops.Add(AcceptLoopAsync(listener, requiresToken: true));
    }

    private async Task AcceptLoopAsync(Socket listener, bool requiresToken)
    {
        var context = Context;
        while (!_stopAccepting.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(_stopAccepting.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                _logger.LogWarning("Accept failed: {Reason}", e.Message);
                continue;
            }
            if (requiresToken)
            {
                socket.NoDelay = true;
            }
            if (context.ConnectionOpened() > _options.MaxConnections)
            {
                context.ConnectionClosed();
                Refuse(socket, $"the daemon already serves {_options.MaxConnections} connections");
                continue;
            }
            // Each user and each process gets a share of the slots, so one app cannot lock the others out.
            var peer = requiresToken ? null : PeerCredentials.Of(socket);
            if (peer is { } credentials && _peerShares.TryTake(credentials) is string tooMany)
            {
                context.ConnectionClosed();
                Refuse(socket, tooMany);
                continue;
            }
            long id = Interlocked.Increment(ref _nextConnectionId);
            var connection = new AppConnection(context, socket, requiresToken, id);
            // A thread per connection blocking in its read: woken by the kernel directly, it saves the event loop's
            // hand-off to the thread pool, the largest share of a request's round trip.
            var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[id] = (connection, finished.Task);
            var thread = new Thread(() =>
            {
                try
                {
                    connection.Run();
                }
                finally
                {
                    if (peer is { } credentials)
                    {
                        _peerShares.Release(credentials);
                    }
                    context.ConnectionClosed();
                    _connections.TryRemove(id, out _);
                    finished.SetResult();
                }
            })
            {
                IsBackground = true,
                Name = $"edgertd connection {id}",
            };
            thread.Start();
        }
    }

    private void Refuse(Socket socket, string reason)
    {
        Context.ConnectionRefused();
        // Once a second at most: a flood of refusals must not flood the log as well.
        long now = _time.GetTimestamp();
        long last = Interlocked.Read(ref _lastRefusalLog);
        if (last == 0 || _time.GetElapsedTime(last, now) >= TimeSpan.FromSeconds(1))
        {
            Interlocked.Exchange(ref _lastRefusalLog, now);
            _logger.LogWarning("Refused a connection: {Reason} ({Total} refused since the start)", reason, Context.Refused);
        }
        _ = AppConnection.RefuseAsync(socket, reason);
    }

    /// <summary>
    /// Stops taking connections and requests, finishes and answers every accepted request (up to the drain
    /// timeout), then closes connections, models and the socket file.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 2, 1) != 1)
        {
            return;
        }
        var context = Context;
        context.BeginDraining();
        _stopAccepting.Cancel();
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }
        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        long started = _time.GetTimestamp();
        bool drained = await context.Scheduler.DrainAsync(_options.DrainTimeout).ConfigureAwait(false);
        var remaining = _options.DrainTimeout - _time.GetElapsedTime(started);
        try
        {
            await Task.WhenAll(_connections.Values.Select(c => c.Connection.RepliesDoneAsync()))
                .WaitAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            drained = false;
        }
        foreach (var (connection, _) in _connections.Values)
        {
            connection.Close();
        }
        await Task.WhenAll(_connections.Values.Select(c => c.Run)).ConfigureAwait(false);
        await StopFleetLinkAsync().ConfigureAwait(false);
        context.Governance.Dispose();
        context.Registry.Dispose();
        _store?.Dispose();
        TryDeleteSocket();
        _logger.LogInformation(drained ? "Stopped after answering every accepted request" : "Stopped; the drain timeout cut some requests short");
    }

    /// <summary>Stops the uplink, then closes the telemetry log (its last interval written and synced).</summary>
    private async Task StopFleetLinkAsync()
    {
        if (_uplink is not null)
        {
            await _uplink.DisposeAsync().ConfigureAwait(false);
            _uplink = null;
        }
        if (_telemetry is not null)
        {
            await _telemetry.DisposeAsync().ConfigureAwait(false);
            _telemetry = null;
        }
    }

    private void TryDeleteSocket()
    {
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("Could not remove {Socket}: {Reason}", SocketPath, e.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 1)
        {
            await StopAsync().ConfigureAwait(false);
        }
        _stopAccepting.Dispose();
    }

    /// <summary>
    /// Sessions are first made for one thread when the governor chooses threads: the cheapest setting, and the one it
    /// starts from, so a variant gets a pool session (a second copy of its weights) only when the SLO needs it.
    /// Without a governor nothing would ever raise the threads, so the whole pool (without spinning) serves.
    /// </summary>
    private static ExecutionKnobs DefaultKnobs(ServerOptions options) =>
        options.Adaptive ? ExecutionKnobs.SingleThread : ExecutionKnobs.AllThreads();
}
