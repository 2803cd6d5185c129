using EdgeRuntime.Client;
using EdgeRuntime.Protocol;

namespace EdgeRuntime.Server.Tests;

/// <summary>
/// A real daemon on a Unix socket in a temp directory, serving the fixture pair. Its sensors read an empty tree
/// unless a test gives another, so no test depends on the machine's own sensors.
/// </summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly List<EdgertClient> _clients = [];

    private TestServer(TestDirectory directory, ServerOptions options, EdgertdServer server)
    {
        Directory = directory;
        Options = options;
        Server = server;
    }

    public TestDirectory Directory { get; }
    public ServerOptions Options { get; }
    public EdgertdServer Server { get; }
    public string SocketPath => Server.SocketPath;

    public static async Task<TestServer> StartAsync(Action<ServerOptions>? configure = null, TimeProvider? time = null, TestDirectory? directory = null)
    {
        directory ??= new TestDirectory();
        string bundle = TestBundles.FashionPair(directory["bundle"]);
        var options = new ServerOptions
        {
            RuntimeDirectory = directory["run"],
            Bundles = [bundle],
            Workers = 2,
            QueueCapacity = 16,
            IntraOpThreads = 1,
            DrainTimeout = TimeSpan.FromSeconds(20),
            SysfsRoot = EmptyTree(directory),
        };
        configure?.Invoke(options);
        var server = new EdgertdServer(options, time);
        await server.StartAsync();
        return new TestServer(directory, options, server);
    }

    /// <summary>A sysfs root with nothing in it: no sensor reads, the generic board.</summary>
    public static string EmptyTree(TestDirectory directory)
    {
        string root = directory["empty-sysfs"];
        System.IO.Directory.CreateDirectory(root);
        return root;
    }

    public EdgertClient Client(Action<EdgertClientOptions>? configure = null)
    {
        var options = new EdgertClientOptions { SocketPath = SocketPath, InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(50) };
        configure?.Invoke(options);
        var client = new EdgertClient(options);
        _clients.Add(client);
        return client;
    }

    public RawConnection Raw() => RawConnection.Connect(SocketPath);

    /// <summary>Polls until the condition holds; the timeout only guards against a hang, it asserts nothing about speed.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"gave up waiting until {what}");
            }
            await Task.Delay(5);
        }
    }

    public static WireTensor Image(int seed = 1) => WireTensor.FromArray("input", TestBundles.Image(seed), 1, 1, 28, 28);

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }
        await Server.DisposeAsync();
        Directory.Dispose();
    }
}
