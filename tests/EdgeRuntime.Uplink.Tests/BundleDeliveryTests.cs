using System.Collections.Concurrent;
using System.Security.Cryptography;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Uplink.Deployment;

namespace EdgeRuntime.Uplink.Tests;

/// <summary>Bundle archives through a real broker: chunked, checked, resumed; and the device agent on a real store.</summary>
public sealed class BundleDeliveryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static async Task<MqttSession> ConnectAsync(Bench.Brokers.MosquittoBroker broker, string clientId, TimeSpan? expiry = null)
    {
        var session = new MqttSession(UplinkFixtures.Broker(broker, clientId), expiry ?? TimeSpan.Zero);
        session.Start();
        await session.WaitConnectedAsync(Token).WaitAsync(UplinkFixtures.Patience, Token);
        return session;
    }

    private static string RandomArchive(string path, int bytes)
    {
        var data = new byte[bytes];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(path, data);
        return path;
    }

    [Fact]
    public async Task An_interrupted_download_resumes_from_its_cursor_and_fetches_only_the_missing_chunks()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        string archive = RandomArchive(temp.File("bundle.tar"), 20 * 1024 + 300);
        var desired = BundleDelivery.Describe("fashion", "2", archive, chunkSize: 1024, rolloutId: "r1");
        Assert.Equal(21, desired.ChunkCount);
        await using (var fleet = await ConnectAsync(broker, "fleet"))
        {
            await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, desired, archive, Token);
        }

        string staging = temp.File("staging");
        await using (var device = await ConnectAsync(broker, "device-a"))
        {
            var downloader = new BundleDownloader(device, UplinkTopics.DefaultPrefix, staging, new DownloadOptions { Window = 2 });
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(Token);
            // Power goes after 7 chunks are stored.
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => downloader.DownloadAsync(desired, (stored, _) =>
            {
                if (stored >= 7)
                {
                    stop.Cancel();
                }
            }, stop.Token));
            Assert.InRange(downloader.StoredChunks(desired), 7, 20);
        }

        await using var again = await ConnectAsync(broker, "device-b");
        var resumed = new BundleDownloader(again, UplinkTopics.DefaultPrefix, staging, new DownloadOptions { Window = 4 });
        int before = resumed.StoredChunks(desired);
        var done = await resumed.DownloadAsync(desired, null, Token);

        Assert.Equal(before, done.ChunksResumed);
        Assert.Equal(21 - before, done.ChunksFetched);
        Assert.Equal(File.ReadAllBytes(archive), File.ReadAllBytes(done.Path));
        Assert.Equal([Path.GetFileName(done.Path)], Directory.GetFiles(staging).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_damaged_chunk_and_an_archive_that_does_not_match_its_desired_hash_are_refused_with_the_reason()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        string archive = RandomArchive(temp.File("bundle.tar"), 5000);
        var desired = BundleDelivery.Describe("fashion", "3", archive, chunkSize: 1024, rolloutId: null);
        await using var fleet = await ConnectAsync(broker, "fleet");
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, desired, archive, Token);
        // Chunk 2's bytes replaced, its hash property left as it was: damaged on the way.
        byte[] bytes = File.ReadAllBytes(archive);
        string topic = UplinkTopics.BundleChunk(UplinkTopics.DefaultPrefix, desired.Bundle, desired.Sha256!, 2);
        string rightHash = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(2048, 1024)));
        bytes[2100] ^= 0xFF;
        Assert.Null(await fleet.PublishAsync(DeploymentMessages.Chunk(topic, bytes.AsMemory(2048, 1024), rightHash), Token));

        await using var device = await ConnectAsync(broker, "device");
        var downloader = new BundleDownloader(device, UplinkTopics.DefaultPrefix, temp.File("staging"), new DownloadOptions { ChunkRetries = 1 });
        var damaged = await Assert.ThrowsAsync<DeploymentRefusedException>(() => downloader.DownloadAsync(desired, null, Token));
        Assert.Equal(DeploymentRefusal.HashMismatch, damaged.Refusal);
        Assert.Contains("chunk 2 of 5 is damaged", damaged.Message);

        // Every chunk intact, but the desired state names other bytes.
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, desired, archive, Token);
        string other = RandomArchive(temp.File("other.tar"), 5000);
        File.WriteAllBytes(other, [.. File.ReadAllBytes(other).Select(b => (byte)(b ^ 1))]);
        var lying = desired with { Sha256 = BundleDelivery.Describe("fashion", "3", other, 1024, null).Sha256 };
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, lying, archive, Token);
        var mismatch = await Assert.ThrowsAsync<DeploymentRefusedException>(() => downloader.DownloadAsync(lying, null, Token));
        Assert.Equal(DeploymentRefusal.HashMismatch, mismatch.Refusal);
        Assert.Contains($"the downloaded archive's sha256 is {desired.Sha256}, the desired state says {lying.Sha256}", mismatch.Message);
        Assert.Empty(Directory.GetFiles(temp.File("staging"), "*.part"));
    }

    [Fact]
    public void A_desired_state_with_problems_is_refused_naming_each()
    {
        byte[] json = """{"format_version":1,"bundle":"a/b","version":"2","sha256":"XYZ","size_bytes":10,"chunk_size":100,"chunk_count":3}"""u8.ToArray();
        var problem = Assert.Throws<FormatException>(() => DesiredBundle.Parse(json, "mqtt t"));
        Assert.Contains("bundle 'a/b' contains '/'", problem.Message);
        Assert.Contains("sha256 'XYZ' is not 64 lowercase hex digits", problem.Message);
        Assert.Contains("chunk_size 100 is not in 1024-16777216", problem.Message);
        Assert.Contains("not a desired bundle", Assert.Throws<FormatException>(() => DesiredBundle.Parse("{"u8, "mqtt t")).Message);
        var rollback = DesiredBundle.Parse("""{"format_version":1,"bundle":"fashion","version":"1","rollback":true}"""u8, "mqtt t");
        Assert.False(rollback.HasArchive);
    }

    [Fact]
    public async Task The_agent_follows_its_own_desired_state_over_its_class_installs_through_the_store_and_never_retries_a_refused_version()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        var bundles = new BundleFactory(temp.File("publisher"));
        const string Name = "fashion";
        var options = new UplinkOptions
        {
            Broker = UplinkFixtures.Broker(broker, "device-pi-7"),
            DeviceId = "pi-7",
            DeviceClass = "raspberry-pi-4",
        };
        var agentOptions = new DeploymentAgentOptions { BundleName = Name, WorkDirectory = temp.File("agent"), ReportRetry = TimeSpan.FromMilliseconds(200) };
        var storeOptions = new BundleStoreOptions
        {
            Root = temp.File("store"),
            TrustedKeysDirectory = bundles.TrustedDirectory,
            Probation = new ProbationOptions { Period = TimeSpan.Zero, LatencyRounds = 3, MaxLatencyRatio = 100 },
        };
        var served = new ConcurrentQueue<string>();
        Task Serve(string name, string directory, CancellationToken _)
        {
            served.Enqueue(Path.GetFileName(directory));
            return Task.CompletedTask;
        }

        await using var fleet = await ConnectAsync(broker, "fleet");
        string goodArchive = bundles.MakeArchive(Name, 2);
        var good = BundleDelivery.Describe(Name, "2", goodArchive, 16 * 1024, "r-good");
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, good, goodArchive, Token);
        string badArchive = bundles.MakeArchive(Name, 3, BundleFlaw.BadSignature);
        var bad = BundleDelivery.Describe(Name, "3", badArchive, 16 * 1024, "r-bad");
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, bad, badArchive, Token);
        // The class wants the bad one; this device is told the good one.
        await BundleDelivery.PublishClassDesiredAsync(fleet, UplinkTopics.DefaultPrefix, "raspberry-pi-4", bad, Token);
        await BundleDelivery.PublishDesiredAsync(fleet, UplinkTopics.DefaultPrefix, "raspberry-pi-4", "pi-7", good, Token);

        var reports = new ConcurrentQueue<DeploymentReport>();
        using (var store = new BundleStore(storeOptions, Serve))
        {
            store.Install(Name, "1", bundles.MakeArchive(Name, 1));
            await store.ActivateAsync(Name, "1", Token);
            await using var session = new MqttSession(options.Broker, TimeSpan.FromHours(1));
            await using var agent = new DeploymentAgent(options, agentOptions, session, store);
            agent.Reported += reports.Enqueue;
            session.Start();
            await agent.StartAsync(Token);
            await UplinkFixtures.EventuallyAsync(() => reports.Any(r => r.Version == "2" && r.IsFinal), "version 2 to be committed");
            var committed = reports.Last(r => r.Version == "2");
            Assert.Equal(DeviceDeploymentState.Committed, committed.State);
            Assert.Equal(("2", "1", "r-good"), (committed.ActiveVersion, committed.PreviousVersion, committed.RolloutId));
            Assert.True(committed.DownloadMs > 0 && committed.ProbationMs >= 0);
            Assert.Equal(
                [DeviceDeploymentState.Downloading, DeviceDeploymentState.Installed, DeviceDeploymentState.Probation, DeviceDeploymentState.Committed],
                reports.Where(r => r.Version == "2").Select(r => r.State).Distinct());

            // The device's own state cleared: the class's (bad) one applies, and is refused.
            await BundleDelivery.PublishDesiredAsync(fleet, UplinkTopics.DefaultPrefix, "raspberry-pi-4", "pi-7", null, Token);
            await UplinkFixtures.EventuallyAsync(() => reports.Any(r => r.Version == "3" && r.IsFinal), "version 3 to be refused");
            var refused = reports.Last(r => r.Version == "3");
            Assert.Equal((DeviceDeploymentState.Refused, "bad-signature", "2"), (refused.State, refused.ReasonCode, refused.ActiveVersion));
            Assert.Contains("does not match manifest.json", refused.Reason);
        }
        Assert.Equal(["1", "2"], served);

        // After a restart the refused version is not fetched again: the agent remembers it.
        reports.Clear();
        using (var store = new BundleStore(storeOptions, Serve))
        {
            await using var session = new MqttSession(options.Broker, TimeSpan.FromHours(1));
            await using var agent = new DeploymentAgent(options, agentOptions, session, store);
            agent.Reported += reports.Enqueue;
            session.Start();
            await agent.StartAsync(Token);
            await UplinkFixtures.EventuallyAsync(() => reports.Any(r => r.Version == "3"), "the refusal to be reported again");
            var again = Assert.Single(reports);
            Assert.Equal((DeviceDeploymentState.Refused, "bad-signature"), (again.State, again.ReasonCode));
            Assert.StartsWith("already tried: ", again.Reason);
            Assert.Equal("2", store.GetState(Name).ActiveVersion);
        }
    }
}
