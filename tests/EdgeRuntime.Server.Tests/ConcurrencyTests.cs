using EdgeRuntime.Client;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Server.Tests;

/// <summary>Overload, deadlines, cancellation and shutdown, made deterministic by holding the workers.</summary>
public sealed class ConcurrencyTests
{
    private static Task WaitForAcceptedAsync(TestServer server, int count) =>
        TestServer.WaitUntilAsync(() => Task.FromResult(server.Server.Scheduler.QueueDepth + server.Server.Scheduler.InFlight >= count), $"{count} requests are accepted");

    [Fact]
    public async Task A_full_queue_answers_overloaded_and_lower_priorities_are_refused_first()
    {
        await using var server = await TestServer.StartAsync(o => { o.Workers = 1; o.QueueCapacity = 4; });
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var accepted = new List<Task<InferResult>> { client.InferAsync(TestServer.Image()) };
        await TestServer.WaitUntilAsync(() => Task.FromResult(server.Server.Scheduler.InFlight == 1), "the worker holds the first request");
        accepted.Add(client.InferAsync(TestServer.Image(), new InferOptions { Priority = InferPriority.Low }));
        accepted.Add(client.InferAsync(TestServer.Image(), new InferOptions { Priority = InferPriority.Low }));
        await WaitForAcceptedAsync(server, 3);

        // Low priority may use half of the queue (2), normal three quarters (3), high all of it (4).
        var low = await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image(), new InferOptions { Priority = InferPriority.Low }));
        Assert.Equal(ErrorCode.Overloaded, low.Code);
        Assert.True(low.IsTransient);
        accepted.Add(client.InferAsync(TestServer.Image()));
        await WaitForAcceptedAsync(server, 4);
        Assert.Equal(ErrorCode.Overloaded, (await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image()))).Code);
        accepted.Add(client.InferAsync(TestServer.Image(), new InferOptions { Priority = InferPriority.High }));
        await WaitForAcceptedAsync(server, 5);
        Assert.Equal(ErrorCode.Overloaded, (await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image(), new InferOptions { Priority = InferPriority.High }))).Code);

        server.Server.Scheduler.Resume();
        Assert.Equal(5, (await Task.WhenAll(accepted)).Length);
        var status = await client.StatusAsync();
        Assert.Equal((5L, 3L), (status.Server.Completed, status.Server.Overloaded));
    }

    [Fact]
    public async Task An_expired_deadline_is_never_run()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = await TestServer.StartAsync(o => o.Workers = 1, time);
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var blocked = client.InferAsync(TestServer.Image());
        var late = client.InferAsync(TestServer.Image(), new InferOptions { Deadline = TimeSpan.FromMilliseconds(100) });
        var fine = client.InferAsync(TestServer.Image(), new InferOptions { Deadline = TimeSpan.FromHours(1) });
        await WaitForAcceptedAsync(server, 3);
        time.Advance(TimeSpan.FromMilliseconds(150));
        server.Server.Scheduler.Resume();

        var error = await Assert.ThrowsAsync<EdgertException>(() => late);
        Assert.Equal(ErrorCode.DeadlineExceeded, error.Code);
        Assert.Contains("not run", error.Message);
        await blocked;
        await fine;
        var status = await client.StatusAsync();
        Assert.Equal((2L, 1L), (status.Server.Completed, status.Server.Expired));
        // Only the two requests that ran reached the model.
        Assert.Equal(2, Assert.Single(status.Models).Variants.Single(v => v.Current).Count);
    }

    [Fact]
    public async Task A_client_cancel_drops_the_queued_request()
    {
        await using var server = await TestServer.StartAsync(o => o.Workers = 1);
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var blocked = client.InferAsync(TestServer.Image());
        using var cancel = new CancellationTokenSource();
        var cancelled = client.InferAsync(TestServer.Image(), cancellationToken: cancel.Token);
        await WaitForAcceptedAsync(server, 2);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        // The cancel frame is on its way; wait until the daemon has it before letting the worker go.
        await Task.Delay(50);
        server.Server.Scheduler.Resume();
        await blocked;
        await TestServer.WaitUntilAsync(async () => (await client.StatusAsync()).Server.Cancelled == 1, "the daemon counts the cancelled request");
        Assert.Equal(1, (await client.StatusAsync()).Server.Completed);
    }

    [Fact]
    public async Task A_client_that_disconnects_cancels_its_queued_work()
    {
        await using var server = await TestServer.StartAsync(o => o.Workers = 1);
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var blocked = client.InferAsync(TestServer.Image());
        await WaitForAcceptedAsync(server, 1);
        using (var raw = server.Raw())
        {
            for (uint id = 1; id <= 3; id++)
            {
                raw.Send(MessageType.Infer, id, new InferRequest { Inputs = [TestServer.Image()] });
            }
            await WaitForAcceptedAsync(server, 4);
        }
        await TestServer.WaitUntilAsync(async () => (await client.StatusAsync()).Server.Connections == 1, "the daemon sees the disconnect");
        server.Server.Scheduler.Resume();
        await blocked;
        await TestServer.WaitUntilAsync(async () => (await client.StatusAsync()).Server.Cancelled == 3, "the three orphaned requests are dropped");
        Assert.Equal(1, (await client.StatusAsync()).Server.Completed);
    }

    [Fact]
    public async Task Graceful_shutdown_answers_every_accepted_request()
    {
        var server = await TestServer.StartAsync(o => { o.Workers = 1; o.QueueCapacity = 32; });
        try
        {
            var clients = Enumerable.Range(0, 3).Select(_ => server.Client()).ToList();
            server.Server.Scheduler.Pause();
            var accepted = clients.SelectMany(c => Enumerable.Range(0, 6).Select(i => c.InferAsync(TestServer.Image(i)))).ToList();
            await WaitForAcceptedAsync(server, accepted.Count);

            var stopping = server.Server.StopAsync();
            var refused = await Assert.ThrowsAsync<EdgertException>(() => clients[0].InferAsync(TestServer.Image()));
            Assert.Equal(ErrorCode.ShuttingDown, refused.Code);
            Assert.False(stopping.IsCompleted);
            server.Server.Scheduler.Resume();

            var results = await Task.WhenAll(accepted);
            Assert.Equal(18, results.Length);
            Assert.All(results, r => Assert.Equal(10, r["logits"].ToArray<float>().Length));
            await stopping;
            Assert.False(File.Exists(server.SocketPath));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Per_connection_cap_refuses_a_flood_from_one_client()
    {
        await using var server = await TestServer.StartAsync(o => { o.Workers = 1; o.MaxPendingPerConnection = 2; });
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var first = client.InferAsync(TestServer.Image());
        var second = client.InferAsync(TestServer.Image());
        await WaitForAcceptedAsync(server, 2);
        Assert.Equal(ErrorCode.Overloaded, (await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image()))).Code);
        // Another client is not affected.
        var other = server.Client().InferAsync(TestServer.Image());
        server.Server.Scheduler.Resume();
        await Task.WhenAll(first, second, other);
    }
}
