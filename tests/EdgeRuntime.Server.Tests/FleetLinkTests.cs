using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Server.Tests;

/// <summary>The daemon's telemetry log and MQTT uplink, against a real Mosquitto broker and fleet ingest.</summary>
public sealed class FleetLinkTests
{
    [Fact]
    public async Task Without_telemetry_or_a_broker_configured_the_daemon_runs_neither()
    {
        await using var daemon = await TestServer.StartAsync();
        Assert.Null(daemon.Server.Telemetry);
        Assert.Null(daemon.Server.Uplink);
    }

    [Fact]
    public async Task Bad_uplink_settings_are_refused_at_start_with_the_reason()
    {
        var options = new ServerOptions { Bundles = ["x"], MqttBroker = "broker:http" };
        Assert.Contains("port 'http'", Assert.Throws<ArgumentException>(options.ValidateOrThrow).Message);
        options = new ServerOptions { Bundles = ["x"], MqttTls = true };
        Assert.Contains("need MqttBroker", Assert.Throws<ArgumentException>(options.ValidateOrThrow).Message);
        options = new ServerOptions { Bundles = ["x"], MqttBroker = "broker:1883", DeviceId = "pi/1" };
        Assert.Contains("DeviceId", Assert.Throws<ArgumentException>(options.ValidateOrThrow).Message);
        options = new ServerOptions { Bundles = ["x"], MqttBroker = "broker:1883", MqttTopicPrefix = "a/#" };
        Assert.Contains("TopicPrefix 'a/#'", Assert.Throws<ArgumentException>(options.ValidateOrThrow).Message);
    }

    [Fact]
    public async Task The_daemon_logs_telemetry_uploads_it_and_takes_profiles_from_the_fleet()
    {
        using var directory = new TestDirectory();
        MosquittoBroker broker;
        try
        {
            broker = await MosquittoBroker.StartAsync(directory["broker"]);
        }
        catch (FileNotFoundException e)
        {
            Assert.Fail($"This test needs a real MQTT broker: {e.Message}");
            throw;
        }
        using var _ = broker;
        using var store = FleetStore.Open(directory["fleet.duckdb"]);
        var fleetBroker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "fleet", BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromMilliseconds(500) };
        await using var ingest = new MqttIngest(store, fleetBroker);
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        // Subscribed before the device sends: a new ingest session does not get what was published before it.
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);

        await using var daemon = await TestServer.StartAsync(o =>
        {
            o.TelemetryDirectory = directory["telemetry"];
            o.DeviceId = "dev-1";
            o.TelemetryIntervalSeconds = 0.2;
            o.MqttBroker = $"{broker.Host}:{broker.Port}";
            o.Adaptive = false;   // only the client's switch, so the test knows every switch there is
        }, directory: directory);
        Assert.NotNull(daemon.Server.Telemetry);
        Assert.NotNull(daemon.Server.Uplink);
        var client = daemon.Client();
        for (int i = 0; i < 5; i++)
        {
            await client.InferAsync(TestServer.Image(i));
        }
        await client.SetHintsAsync(new Dictionary<string, string> { ["variant"] = "b" });
        await client.InferAsync(TestServer.Image());

        string deviceClass = daemon.Server.Governance.Board.Id;
        long Count(string kind) => ingest.Query(store =>
        {
            using var command = store.Connection.CreateCommand();
            command.CommandText = $"SELECT count(*) FROM records WHERE device_id = 'dev-1' AND device_class = '{deviceClass}' AND kind = '{kind}'";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        });
        long ManualSwitches() => ingest.Query(store =>
        {
            using var command = store.Connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM records WHERE kind = 'switch' AND reason = 'Manual'";
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        });
        try
        {
            // The governor may switch on its own too; the client's pin is the one this test knows about.
            await TestServer.WaitUntilAsync(() => Task.FromResult(Count("inference") > 0 && ManualSwitches() > 0),
                "inference summaries and the client's switch reached the fleet database");
        }
        catch (TimeoutException)
        {
            var uplink = daemon.Server.Uplink!;
            Assert.Fail($"in the database: {Count("inference")} inference, {Count("switch")} switch records ({ManualSwitches()} by the client) of {deviceClass}/dev-1, {ingest.Query(s => s.Count())} in all; " +
                $"log: {daemon.Server.Telemetry!.Log.LastSequence} written, {daemon.Server.Telemetry.Log.DurableSequence} durable; uplink cursor {uplink.Telemetry!.Cursor}, " +
                $"connected {uplink.Session.IsConnected}, error {uplink.Telemetry.LastError ?? uplink.Session.LastError}; ingest {ingest.Report()}");
        }
        var change = ingest.Query(store =>
        {
            using var command = store.Connection.CreateCommand();
            command.CommandText = "SELECT from_variant, to_variant, reason FROM records WHERE kind = 'switch' AND reason = 'Manual'";
            using var reader = command.ExecuteReader();
            Assert.True(reader.Read());
            return (reader.GetString(0), reader.GetString(1), reader.GetString(2));
        });
        Assert.Equal(("a", "b", "Manual"), change);
        await TestServer.WaitUntilAsync(() => Task.FromResult(ingest.Query(SumRequests) == 6), "all six requests counted in the summaries");

        // A profile for another board is refused and shows in the status; a newer one for this board is taken.
        var publisher = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "fleet-publish" };
        await using var fleet = new MqttSession(publisher, TimeSpan.Zero);
        fleet.Start();
        await fleet.WaitConnectedAsync(TestContext.Current.CancellationToken);
        var builtIn = daemon.Server.Governance.Profiles.Current;
        string topic = UplinkTopics.Profile(UplinkTopics.DefaultPrefix, deviceClass);
        Assert.Null(await fleet.PublishAsync(ProfileMessage.Create(topic, ProfileJson.Serialize(builtIn with { Version = 7, DeviceClass = "jetson-nano" })), TestContext.Current.CancellationToken));
        await TestServer.WaitUntilAsync(async () => (await client.StatusAsync()).Governor!.ProfileRefusal?.Contains("jetson-nano") == true, "the refusal shows in the status");
        Assert.Equal(builtIn.Version, (await client.StatusAsync()).Governor!.ProfileVersion);

        Assert.Null(await fleet.PublishAsync(ProfileMessage.Create(topic, ProfileJson.Serialize(builtIn with { Version = 7, Provenance = new ProfileProvenance { Source = "fleet-fit" } })), TestContext.Current.CancellationToken));
        await TestServer.WaitUntilAsync(async () => (await client.StatusAsync()).Governor!.ProfileVersion == 7, "the fleet's profile is in force");
        var governor = (await client.StatusAsync()).Governor!;
        Assert.Equal(($"mqtt {topic}", "fleet-fit"), (governor.ProfileFrom, governor.ProfileProvenance));
        Assert.Null(governor.ProfileRefusal);
    }

    private static long SumRequests(FleetStore store)
    {
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT CAST(coalesce(sum(request_count), 0) AS BIGINT) FROM records WHERE kind = 'inference'";
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
