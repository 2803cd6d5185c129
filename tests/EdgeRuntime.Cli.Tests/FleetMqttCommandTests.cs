using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert fleet ingest --mqtt` and `edgert fleet publish` against a real Mosquitto.</summary>
public sealed class FleetMqttCommandTests
{
    [Fact]
    public async Task Ingest_keeps_a_persistent_session_so_telemetry_sent_while_it_was_stopped_arrives_on_the_next_run()
    {
        using var temp = new TempDirectory();
        using var broker = await StartBrokerAsync(temp);
        string endpoint = $"{broker.Host}:{broker.Port}";
        string database = temp.File("fleet.duckdb");

        // The first run makes the session and its subscription; nothing has been sent yet.
        var first = await Cli.RunAsync("fleet", "ingest", "--mqtt", endpoint, "--db", database, "--until-idle", "0.5");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("0 messages from 0 devices", first.Output);

        // A device uploads while ingest is not running: the broker queues its messages for the session.
        string logs = temp.File("pi-1");
        long last;
        await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = logs, DeviceId = "pi-1", DeviceClass = "raspberry-pi-4" }))
        {
            for (int i = 0; i < 300; i++)
            {
                log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = 40 + i % 20, Unit = "C" }));
            }
            Assert.True(await log.FlushAsync());
            last = log.LastSequence;
        }
        var options = new UplinkOptions
        {
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "device-pi-1", BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromMilliseconds(500) },
            DeviceId = "pi-1",
            DeviceClass = "raspberry-pi-4",
            LogDirectory = logs,
        };
        await using (var session = new MqttSession(options.Broker, TimeSpan.Zero))
        {
            await using var uplink = new TelemetryUplink(options, session);
            session.Start();
            uplink.Start();
            await uplink.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        }

        var second = await Cli.RunAsync("fleet", "ingest", "--mqtt", endpoint, "--db", database, "--until-idle", "1", "--json");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("\"records_inserted\": 300", second.Output);
        using var store = FleetStore.Open(database);
        Assert.Equal(300, store.Count());
    }

    [Fact]
    public async Task Publish_sends_fitted_profiles_retained_and_refuses_a_directory_with_a_bad_one()
    {
        using var temp = new TempDirectory();
        using var broker = await StartBrokerAsync(temp);
        string endpoint = $"{broker.Host}:{broker.Port}";
        string profiles = temp.File("fitted");
        Directory.CreateDirectory(profiles);
        var fitted = ProfileCatalog.BuiltIn("raspberry-pi-4") with { Version = 4, Provenance = new ProfileProvenance { Source = "fleet-fit" } };
        File.WriteAllText(Path.Combine(profiles, "raspberry-pi-4.json"), ProfileJson.Serialize(fitted));

        var sent = await Cli.RunAsync("fleet", "publish", "--mqtt", endpoint, "--profiles", profiles);
        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Contains("raspberry-pi-4 version 4 -> edgert/profiles/raspberry-pi-4 (retained", sent.Output);

        // A device that connects afterwards still gets it.
        var store = new ProfileStore(ProfileCatalog.BuiltIn("raspberry-pi-4"));
        var options = new UplinkOptions
        {
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "late-device", BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromMilliseconds(500) },
            DeviceId = "late-device",
            DeviceClass = "raspberry-pi-4",
        };
        await using (var session = new MqttSession(options.Broker, TimeSpan.Zero))
        {
            var subscriber = new ProfileSubscriber(options, session, store);
            var applied = new TaskCompletionSource<ProfileDelivery>();
            subscriber.Delivered += d => applied.TrySetResult(d);
            session.Start();
            await subscriber.StartAsync(TestContext.Current.CancellationToken);
            Assert.True((await applied.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken)).Accepted);
        }
        Assert.Equal(4, store.Current.Version);

        File.WriteAllText(Path.Combine(profiles, "jetson-nano.json"), "{\"schema_version\": 1, \"device_class\": \"jetson-nano\"}");
        var refused = await Cli.RunAsync("fleet", "publish", "--mqtt", endpoint, "--profiles", profiles);
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("not publishing anything", refused.Error + refused.Output);
        Assert.Contains("jetson-nano.json", refused.Error + refused.Output);
    }

    [Fact]
    public async Task Ingest_says_what_is_missing_or_wrong()
    {
        var neither = await Cli.RunAsync("fleet", "ingest");
        Assert.NotEqual(0, neither.ExitCode);
        Assert.Contains("give --from DIR (device telemetry logs) or --mqtt HOST:PORT", neither.Error + neither.Output);
        var badPort = await Cli.RunAsync("fleet", "ingest", "--mqtt", "localhost:99999");
        Assert.NotEqual(0, badPort.ExitCode);
        Assert.Contains("port '99999'", badPort.Error + badPort.Output);
        var idle = await Cli.RunAsync("fleet", "ingest", "--from", ".", "--until-idle", "3");
        Assert.Contains("--until-idle goes with --mqtt", idle.Error + idle.Output);
    }

    private static async Task<MosquittoBroker> StartBrokerAsync(TempDirectory temp)
    {
        try
        {
            return await MosquittoBroker.StartAsync(temp.File("broker"));
        }
        catch (FileNotFoundException e)
        {
            Assert.Fail($"This test needs a real MQTT broker: {e.Message}");
            throw;
        }
    }
}
