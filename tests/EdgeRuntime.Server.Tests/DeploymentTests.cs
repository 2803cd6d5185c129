using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Client;
using EdgeRuntime.Deployment;
using EdgeRuntime.Protocol;

namespace EdgeRuntime.Server.Tests;

public sealed class DeploymentTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_trusted_keys_an_unsigned_or_altered_bundle_is_refused_at_start_and_on_reload_with_the_reason()
    {
        using var directory = new TestDirectory();
        var factory = new BundleFactory(directory["publisher"]);
        string unsigned = factory.MakeBundle("fashion", 1, BundleFlaw.Unsigned);
        string altered = factory.MakeBundle("fashion", 2, BundleFlaw.BadSignature);

        var start = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o =>
        {
            o.Bundles = [unsigned];
            o.TrustedKeysDirectory = factory.TrustedDirectory;
        }, directory: directory));
        Assert.Contains("Unsigned", start.Message);

        await using var server = await TestServer.StartAsync(o =>
        {
            o.Bundles = [factory.MakeBundle("fashion", 3)];
            o.BundleRoot = directory.Path;
            o.TrustedKeysDirectory = factory.TrustedDirectory;
        }, directory: directory);
        var client = server.Client();
        var reload = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(altered));
        Assert.Equal(ErrorCode.ReloadFailed, reload.Code);
        Assert.Contains("BadSignature", reload.Message);
        Assert.Contains("keeps serving", reload.Message);
        await client.InferAsync(TestServer.Image());
    }

    [Fact]
    public async Task Serving_from_a_store_activation_and_automatic_rollback_swap_the_runtime_without_failing_a_request()
    {
        using var directory = new TestDirectory();
        var factory = new BundleFactory(directory["publisher"]);
        string store = await DeviceStores.WithFirstVersionAsync(directory, factory, Token);
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Bundles = [];
            o.StoreRoot = store;
            o.TrustedKeysDirectory = factory.TrustedDirectory;
            o.Workers = 2;
            o.QueueCapacity = 64;
            o.ProbationSeconds = 0;
        }, directory: directory);
        var deployment = server.Server.Deployment!;
        var client = server.Client();
        Assert.EndsWith(Path.Combine("fashion", "1"), Assert.Single((await client.ListModelsAsync()).Models).Path);

        using var stop = new CancellationTokenSource();
        int answered = 0;
        var failures = new List<string>();
        var load = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var own = server.Client();
            int seed = worker * 1000;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await own.InferAsync(TestServer.Image(seed++));
                    Interlocked.Increment(ref answered);
                }
                catch (EdgertException e)
                {
                    lock (failures)
                    {
                        failures.Add($"{e.Code}: {e.Message}");
                    }
                }
            }
        })).ToList();
        await TestServer.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref answered) > 20), "requests flow");

        var good = await deployment.DeployAsync("fashion", "2", factory.MakeArchive("fashion", 2), activate: true, Token);
        int afterGood = Volatile.Read(ref answered);
        var bad = await deployment.DeployAsync("fashion", "3", factory.MakeArchive("fashion", 3, BundleFlaw.OutputsOff), activate: true, Token);
        await TestServer.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref answered) > afterGood + 20), "requests flow after the rollback");
        stop.Cancel();
        await Task.WhenAll(load);

        Assert.Empty(failures);
        Assert.True(good.Verdict!.Passed, good.Verdict.Reason);
        Assert.False(bad.Verdict!.Passed);
        Assert.Equal("2", bad.Verdict.RestoredVersion);
        var model = Assert.Single((await client.ListModelsAsync()).Models);
        Assert.EndsWith(Path.Combine("fashion", "2"), model.Path);
        Assert.Equal(3, Assert.Single((await client.StatusAsync()).Models).Reloads);
    }
}
