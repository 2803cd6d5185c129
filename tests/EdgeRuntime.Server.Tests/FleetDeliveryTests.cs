using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;

namespace EdgeRuntime.Server.Tests;

/// <summary>The daemon with a bundle store and an MQTT uplink takes the bundle the fleet wants for it, through a real Mosquitto.</summary>
public sealed class FleetDeliveryTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_daemon_serving_a_store_downloads_installs_activates_and_commits_the_bundle_its_desired_state_names()
    {
        using var directory = new TestDirectory();
        using var broker = await MosquittoBroker.StartAsync(directory["broker"], saveEveryChange: false, cancellationToken: Token);
        var factory = new BundleFactory(directory["publisher"]);
        string storeRoot = await DeviceStores.WithFirstVersionAsync(directory, factory, Token);
        await using var daemon = await TestServer.StartAsync(o =>
        {
            o.Bundles = [];
            o.StoreRoot = storeRoot;
            o.TrustedKeysDirectory = factory.TrustedDirectory;
            o.ProbationSeconds = 0;
            o.DeviceId = "dev-7";
            o.MqttBroker = $"{broker.Host}:{broker.Port}";
        }, directory: directory);
        Assert.NotNull(daemon.Server.Uplink!.Deployment);
        string deviceClass = daemon.Server.Governance.Board.Id;

        await using var fleet = await FleetConnection.ConnectAsync(new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "fleet" }, Token);
        var reports = new System.Collections.Concurrent.ConcurrentQueue<DeploymentReport>();
        fleet.MessageReceived += e =>
        {
            if (e.ApplicationMessage.Payload.Length > 0 && DeploymentReport.TryParse(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload)) is { } report)
            {
                reports.Enqueue(report);
            }
            return Task.CompletedTask;
        };
        await fleet.SubscribeAsync(UplinkTopics.DeploymentStatus(UplinkTopics.DefaultPrefix, "dev-7"), Token);
        string archive = factory.MakeArchive("fashion", 2);
        var desired = BundleDelivery.Describe("fashion", "2", archive, 64 * 1024, "r-1");
        await BundleDelivery.PublishChunksAsync(fleet, UplinkTopics.DefaultPrefix, desired, archive, Token);
        await BundleDelivery.PublishDesiredAsync(fleet, UplinkTopics.DefaultPrefix, deviceClass, "dev-7", desired, Token);

        await TestServer.WaitUntilAsync(() => Task.FromResult(reports.Any(r => r.Version == "2" && r.IsFinal)), "the daemon to report version 2 final");
        var final = reports.Last(r => r.Version == "2");
        Assert.True(final.State == DeviceDeploymentState.Committed, $"{final.State} {final.ReasonCode}: {final.Reason}");
        Assert.Equal(("2", "1", "r-1"), (final.ActiveVersion, final.PreviousVersion, final.RolloutId));
        var client = daemon.Client();
        Assert.EndsWith(Path.Combine("fashion", "2"), Assert.Single((await client.ListModelsAsync()).Models).Path);
        await client.InferAsync(TestServer.Image());
    }
}
