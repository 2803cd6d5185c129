using EdgeRuntime.Client;

namespace EdgeRuntime.Server.Tests;

public sealed class ClientTests
{
    [Fact]
    public async Task The_client_reconnects_after_the_daemon_restarts()
    {
        using var directory = new TestDirectory();
        var first = await TestServer.StartAsync(directory: directory);
        await using var client = new EdgertClient(new EdgertClientOptions { SocketPath = first.SocketPath, InitialBackoff = TimeSpan.FromMilliseconds(5), MaxBackoff = TimeSpan.FromMilliseconds(50) });
        await client.InferAsync(TestServer.Image());
        await first.Server.StopAsync();

        var lost = await Assert.ThrowsAsync<EdgertConnectionException>(() => client.InferAsync(TestServer.Image()));
        Assert.True(lost.IsTransient);

        var options = first.Options;
        var second = new EdgertdServer(options);
        await second.StartAsync();
        try
        {
            var result = await client.InferAsync(TestServer.Image());
            Assert.Equal("a", result.Variant);
            Assert.Equal(2, client.Connects);
        }
        finally
        {
            await second.DisposeAsync();
            await first.Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task No_daemon_gives_a_connection_error_naming_the_endpoint()
    {
        using var directory = new TestDirectory();
        await using var client = new EdgertClient(new EdgertClientOptions
        {
            SocketPath = directory["nobody.sock"],
            MaxConnectAttempts = 3,
            InitialBackoff = TimeSpan.FromMilliseconds(1),
            MaxBackoff = TimeSpan.FromMilliseconds(2),
        });
        var e = await Assert.ThrowsAsync<EdgertConnectionException>(() => client.StatusAsync());
        Assert.Contains("nobody.sock", e.Message);
        Assert.Contains("3 attempt", e.Message);
    }

    [Fact]
    public void Client_options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new EdgertClient(new EdgertClientOptions { MaxConnectAttempts = 0 }));
        Assert.Throws<ArgumentException>(() => new EdgertClient(new EdgertClientOptions { TcpPort = 70000 }));
    }

    [Fact]
    public async Task A_request_over_the_frame_cap_fails_locally_and_the_connection_goes_on()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client(o => o.MaxFrameBytes = 2048);
        var e = await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image()));
        Assert.Equal(EdgeRuntime.Protocol.ErrorCode.FrameTooLarge, e.Code);
        await client.StatusAsync();
        Assert.Equal(1, client.Connects);
    }
}
