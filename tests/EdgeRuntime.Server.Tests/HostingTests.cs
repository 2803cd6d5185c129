using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using EdgeRuntime.Client;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Server.Tests;

/// <summary>Being a system service: sd_notify, the watchdog, socket permissions, TCP with a token, options.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class HostingTests
{
    /// <summary>A real datagram socket standing in for systemd's notification socket.</summary>
    private sealed class NotifySocket : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

        public NotifySocket(string path)
        {
            Path = path;
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            _socket.ReceiveTimeout = 20_000;
        }

        public string Path { get; }

        public string Receive()
        {
            var buffer = new byte[4096];
            int length = _socket.Receive(buffer);
            return Encoding.UTF8.GetString(buffer, 0, length);
        }

        public int Available => _socket.Available;

        public void Dispose() => _socket.Dispose();
    }

    /// <summary>The board's real monitor, made to fail on demand the way a bug in a sensor path would.</summary>
    private sealed class BreakableMonitor(IDeviceMonitor inner) : IDeviceMonitor
    {
        public volatile bool Broken;

        public string Board => inner.Board;

        public DeviceSnapshot Read() => Broken ? throw new InvalidOperationException("sensor bus gone") : inner.Read();

        public IReadOnlyList<SourceHealth> GetHealth() => inner.GetHealth();
    }

    [Fact]
    public void Notifier_sends_states_as_datagrams_and_reads_the_watchdog_settings()
    {
        using var directory = new TestDirectory();
        using var systemd = new NotifySocket(directory["notify"]);
        using var notifier = SystemdNotifier.FromEnvironment(name => name == "NOTIFY_SOCKET" ? systemd.Path : null)!;
        Assert.True(notifier.Ready("serving"));
        Assert.Equal("READY=1\nSTATUS=serving", systemd.Receive());
        Assert.True(notifier.Watchdog());
        Assert.Equal("WATCHDOG=1", systemd.Receive());
        Assert.True(notifier.Stopping());
        Assert.Equal("STOPPING=1", systemd.Receive());

        Assert.Null(SystemdNotifier.FromEnvironment(_ => null));
        Assert.Equal(TimeSpan.FromSeconds(30), SystemdNotifier.WatchdogInterval(n => n == "WATCHDOG_USEC" ? "30000000" : null, 42));
        Assert.Null(SystemdNotifier.WatchdogInterval(n => n switch { "WATCHDOG_USEC" => "30000000", "WATCHDOG_PID" => "7", _ => null }, 42));
        Assert.Null(SystemdNotifier.WatchdogInterval(n => n == "WATCHDOG_USEC" ? "soon" : null, 42));
    }

    [Fact]
    public void Notifier_reaches_an_abstract_socket()
    {
        string name = "edgertd-test-" + Guid.NewGuid().ToString("N")[..8];
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        socket.ReceiveTimeout = 20_000;
        using var notifier = new SystemdNotifier("@" + name);
        Assert.True(notifier.Ready());
        var buffer = new byte[64];
        Assert.Equal("READY=1", Encoding.UTF8.GetString(buffer, 0, socket.Receive(buffer)));
    }

    [Fact]
    public async Task Service_sends_ready_then_watchdog_only_while_healthy_then_stopping()
    {
        using var directory = new TestDirectory();
        using var systemd = new NotifySocket(directory["notify"]);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var options = new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [TestBundles.FashionPair(directory["bundle"])],
            Workers = 1,
            StallLimit = TimeSpan.FromSeconds(10),
            IntraOpThreads = 1,
            SysfsRoot = TestServer.EmptyTree(directory),
        };
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Path };
        var server = new EdgertdServer(options, time);
        await using var service = new EdgertdService(server, n => environment.GetValueOrDefault(n), time, NullLogger.Instance);

        await service.StartAsync(default);
        Assert.StartsWith("READY=1\nSTATUS=serving fashion-cnn", systemd.Receive());

        Assert.True(service.PingWatchdogIfHealthy());
        Assert.Equal("WATCHDOG=1", systemd.Receive());

        // A worker stuck on one request past the stall limit withholds the ping, so systemd would restart the daemon.
        server.Scheduler.Pause();
        await using var client = new EdgertClient(server.SocketPath);
        var stuck = client.InferAsync(TestServer.Image());
        await TestServer.WaitUntilAsync(() => Task.FromResult(server.Scheduler.InFlight == 1), "the worker holds the request");
        time.Advance(TimeSpan.FromSeconds(11));
        Assert.False(server.IsHealthy);
        Assert.False(service.PingWatchdogIfHealthy());
        server.Scheduler.Resume();
        await stuck;
        // The reply can arrive before the worker has put the request down.
        await TestServer.WaitUntilAsync(() => Task.FromResult(server.Scheduler.InFlight == 0), "the worker finished the request");
        Assert.True(service.PingWatchdogIfHealthy());
        Assert.Equal("WATCHDOG=1", systemd.Receive());

        await service.StopAsync(default);
        Assert.Equal("STOPPING=1", systemd.Receive());
    }

    [Fact]
    public async Task Service_pings_the_watchdog_every_half_interval()
    {
        using var directory = new TestDirectory();
        using var systemd = new NotifySocket(directory["notify"]);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var options = new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [TestBundles.FashionPair(directory["bundle"])],
            Workers = 1,
            IntraOpThreads = 1,
            SysfsRoot = TestServer.EmptyTree(directory),
        };
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Path, ["WATCHDOG_USEC"] = "10000000" };
        await using var service = new EdgertdService(new EdgertdServer(options, time), n => environment.GetValueOrDefault(n), time, NullLogger.Instance);
        await service.StartAsync(default);
        Assert.StartsWith("READY=1", systemd.Receive());
        for (int i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(5));
            Assert.Equal("WATCHDOG=1", systemd.Receive());
        }
        await service.StopAsync(default);
        Assert.Equal("STOPPING=1", systemd.Receive());
    }

    [Fact]
    public async Task Watchdog_is_withheld_once_the_governor_has_failed_for_longer_than_the_interval()
    {
        using var directory = new TestDirectory();
        using var systemd = new NotifySocket(directory["notify"]);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var board = new SimulatedBoard(BoardCatalog.BuiltIn().Get("raspberry-pi-4"), directory["sysfs"]);
        var options = new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [TestBundles.FashionPair(directory["bundle"])],
            Workers = 1,
            IntraOpThreads = 1,
            SysfsRoot = board.Root.RootDirectory,
        };
        BreakableMonitor? monitor = null;
        var server = new EdgertdServer(options, time)
        {
            MonitorFactory = (descriptor, root) => monitor = new BreakableMonitor(
                DeviceMonitor.ForBoard(descriptor, root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, time)),
        };
        var environment = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = systemd.Path, ["WATCHDOG_USEC"] = "2000000" };
        await using var service = new EdgertdService(server, n => environment.GetValueOrDefault(n), time, NullLogger.Instance);
        await service.StartAsync(default);
        await using var client = new EdgertClient(server.SocketPath);
        Assert.True(service.PingWatchdogIfHealthy());

        // The governor ticks every 0.5 s; the clock moves one tick at a time, so each tick sees its own time.
        void Ticks(int count)
        {
            for (int i = 0; i < count; i++)
            {
                time.Advance(TimeSpan.FromSeconds(0.5));
            }
        }
        monitor!.Broken = true;
        Ticks(2);
        Assert.True(service.PingWatchdogIfHealthy());
        Ticks(4);
        Assert.False(service.PingWatchdogIfHealthy());
        var status = await client.StatusAsync();
        Assert.InRange(status.Governor!.FailingForMs!.Value, 2001, 3000);
        Assert.Equal(6, status.Governor.TickFailures);
        Assert.Contains("sensor bus gone", status.Governor.LastError);
        Assert.True(status.Server.Healthy);
        Assert.Equal("a", Assert.Single(status.Models).CurrentVariant);

        monitor.Broken = false;
        Ticks(1);
        Assert.True(service.PingWatchdogIfHealthy());
        Assert.Null((await client.StatusAsync()).Governor!.FailingForMs);
        await service.StopAsync(default);
    }

    [Fact]
    public async Task Socket_gets_mode_0660_and_the_configured_group()
    {
        await using var server = await TestServer.StartAsync(o => { o.SocketGroup = "root"; o.SocketPath = "custom.sock"; });
        Assert.EndsWith("custom.sock", server.SocketPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(server.SocketPath));
        Assert.Equal("0", Stat("%g", server.SocketPath));
        await server.Client().ConnectAsync();
    }

    [Fact]
    public async Task Socket_group_by_number_is_applied()
    {
        if (Environment.UserName != "root")
        {
            Assert.Skip("giving a file to another group needs root");
        }
        await using var server = await TestServer.StartAsync(o => o.SocketGroup = "1");
        Assert.Equal("1", Stat("%g", server.SocketPath));
    }

    private static string Stat(string format, string path)
    {
        using var process = Process.Start(new ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true })!;
        string output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return output;
    }

    [Fact]
    public async Task An_unknown_group_stops_the_start_with_a_clear_error()
    {
        using var directory = new TestDirectory();
        var e = await Assert.ThrowsAsync<IOException>(() => TestServer.StartAsync(o => o.SocketGroup = "no-such-group-xyz", directory: directory));
        Assert.Contains("no-such-group-xyz", e.Message);
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_but_a_live_daemon_is_not()
    {
        await using var first = await TestServer.StartAsync();
        var e = await Assert.ThrowsAsync<IOException>(() => TestServer.StartAsync(o => o.RuntimeDirectory = first.Options.RuntimeDirectory));
        Assert.Contains("another daemon", e.Message);

        using var directory = new TestDirectory();
        Directory.CreateDirectory(directory["run"]);
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory["run"], ServerOptions.DefaultSocketName)));
        }
        await using var second = await TestServer.StartAsync(directory: directory);
        await second.Client().ConnectAsync();
    }

    [Fact]
    public async Task Tcp_requires_the_token_in_the_hello()
    {
        await using var server = await TestServer.StartAsync(o => { o.TcpPort = 0; o.TcpToken = "s3cret-token"; });
        var endpoint = server.Server.TcpEndPoint!;

        using (var raw = RawConnection.Connect(endpoint))
        {
            raw.Send(MessageType.Status, 1, new StatusRequest());
            Assert.Equal(ErrorCode.Unauthorized, (await raw.ReceiveErrorAsync()).Code);
            Assert.True(await raw.IsClosedByPeerAsync());
        }
        var wrong = new EdgertClient(new EdgertClientOptions { TcpPort = endpoint.Port, Token = "guess" });
        await using (wrong)
        {
            Assert.Equal(ErrorCode.Unauthorized, (await Assert.ThrowsAsync<EdgertException>(() => wrong.StatusAsync())).Code);
        }
        await using var right = new EdgertClient(new EdgertClientOptions { TcpPort = endpoint.Port, Token = "s3cret-token" });
        var result = await right.InferAsync(TestServer.Image());
        Assert.Equal("a", result.Variant);
    }

    [Fact]
    public void Options_are_validated_with_every_problem_named()
    {
        var options = new ServerOptions { Bundles = [], TcpPort = 9000, TcpAddress = "0.0.0.0", TcpToken = "x", QueueCapacity = 0 };
        var e = Assert.Throws<ArgumentException>(options.ValidateOrThrow);
        Assert.Contains("QueueCapacity", e.Message);

        options.QueueCapacity = 8;
        e = Assert.Throws<ArgumentException>(options.ValidateOrThrow);
        Assert.Contains("at least one bundle", e.Message);
        Assert.Contains("loopback", e.Message);
        Assert.Contains("token", e.Message);

        var mode = new ServerOptions { Bundles = ["b"], SocketMode = "999" };
        Assert.Contains("octal", Assert.Throws<ArgumentException>(mode.ValidateOrThrow).Message);
    }

    [Fact]
    public async Task A_bundle_that_cannot_serve_stops_the_start()
    {
        using var directory = new TestDirectory();
        var options = new ServerOptions { RuntimeDirectory = directory["run"], Bundles = [directory["missing"]] };
        await using var server = new EdgertdServer(options);
        await Assert.ThrowsAnyAsync<Exception>(() => server.StartAsync());
        Assert.False(File.Exists(options.ResolvedSocketPath));
    }

    [Fact]
    public void The_host_binds_and_validates_options_from_the_command_line()
    {
        using var directory = new TestDirectory();
        using var host = EdgertdHost.Build(["--bundle", TestBundles.FashionPair(directory["bundle"]), "--runtime-dir", directory["run"], "--workers", "3",
            "--board", "raspberry-pi-4", "--sysfs-root", directory["sysfs"], "--profile", directory["profile.json"], "--adaptive", "false"],
            n => n == "EDGERTD_CONFIG" ? directory["absent.json"] : null);
        var options = (Microsoft.Extensions.Options.IOptions<ServerOptions>)host.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<ServerOptions>))!;
        Assert.Equal(3, options.Value.Workers);
        Assert.Single(options.Value.Bundles);
        Assert.Equal(("raspberry-pi-4", directory["sysfs"], directory["profile.json"], false),
            (options.Value.Board, options.Value.SysfsRoot, options.Value.ProfilePath, options.Value.Adaptive));

        using var invalid = EdgertdHost.Build(["--runtime-dir", directory["run"]], n => n == "EDGERTD_CONFIG" ? directory["absent.json"] : null);
        var invalidOptions = (Microsoft.Extensions.Options.IOptions<ServerOptions>)invalid.Services.GetService(typeof(Microsoft.Extensions.Options.IOptions<ServerOptions>))!;
        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => invalidOptions.Value);
        Assert.Contains("bundle", e.Message);
    }
}
