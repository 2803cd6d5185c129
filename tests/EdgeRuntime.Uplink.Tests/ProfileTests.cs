using System.Buffers;
using System.Text;
using System.Text.Json;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using MQTTnet;

namespace EdgeRuntime.Uplink.Tests;

/// <summary>Profiles from the fleet through a real broker into a device's <see cref="ProfileStore"/>.</summary>
public sealed class ProfileTests
{
    private static GovernorProfile Fitted(long version, string deviceClass = "raspberry-pi-4") =>
        ProfileCatalog.BuiltIn(deviceClass) with
        {
            Version = version,
            Provenance = new ProfileProvenance { Source = "fleet-fit", Devices = 12, CreatedUtc = DateTimeOffset.UnixEpoch },
        };

    [Fact]
    public async Task A_published_profile_is_hot_reloaded_and_bad_ones_are_refused_reported_and_leave_it_in_force()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        var ct = TestContext.Current.CancellationToken;

        // The fleet publishes before the device is even connected: the retained message waits for it.
        string profiles = temp.File("fitted");
        Directory.CreateDirectory(profiles);
        File.WriteAllText(Path.Combine(profiles, "raspberry-pi-4.json"), ProfileJson.Serialize(Fitted(5)));
        await using (var fleet = new MqttSession(UplinkFixtures.Broker(broker, "fleet-publish"), TimeSpan.Zero))
        {
            fleet.Start();
            await fleet.WaitConnectedAsync(ct).WaitAsync(UplinkFixtures.Patience, ct);
            var sent = await ProfilePublisher.PublishAsync(fleet, UplinkTopics.DefaultPrefix, ProfilePublisher.Load(profiles), ct);
            Assert.Equal("edgert/profiles/raspberry-pi-4", Assert.Single(sent).Topic);
        }

        var store = new ProfileStore(ProfileCatalog.BuiltIn("raspberry-pi-4"));
        Assert.Equal(1, store.Current.Version);
        var options = UplinkFixtures.Device(broker, temp.File("logs"), deviceId: "pi-9");
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        var subscriber = new ProfileSubscriber(options, session, store);
        var outcomes = new System.Collections.Concurrent.BlockingCollection<ProfileDelivery>();
        subscriber.Delivered += outcomes.Add;
        var statuses = new System.Collections.Concurrent.BlockingCollection<JsonElement>();
        await using var watcher = new MqttSession(UplinkFixtures.Broker(broker, "status-watcher"), TimeSpan.Zero);
        watcher.MessageReceived += e =>
        {
            statuses.Add(JsonDocument.Parse(e.ApplicationMessage.Payload.ToArray()).RootElement.Clone());
            return Task.CompletedTask;
        };
        watcher.Start();
        await watcher.SubscribeAsync(UplinkTopics.Status(UplinkTopics.DefaultPrefix, "pi-9"), ct);
        await watcher.WaitConnectedAsync(ct).WaitAsync(UplinkFixtures.Patience, ct);
        session.Start();
        await subscriber.StartAsync(ct);

        var applied = Next(outcomes);
        Assert.True(applied.Accepted, applied.Reason);
        Assert.Equal(5, store.Current.Version);
        Assert.Equal("fleet-fit", store.Current.Provenance.Source);
        Assert.Equal("profile-accepted", NextStatus(statuses).GetProperty("kind").GetString());

        await using var fleet2 = new MqttSession(UplinkFixtures.Broker(broker, "fleet-publish-2"), TimeSpan.Zero);
        fleet2.Start();
        await fleet2.WaitConnectedAsync(ct).WaitAsync(UplinkFixtures.Patience, ct);
        string topic = UplinkTopics.Profile(UplinkTopics.DefaultPrefix, "raspberry-pi-4");

        async Task<ProfileDelivery> Send(MqttApplicationMessage message)
        {
            Assert.Null(await fleet2.PublishAsync(message, ct));
            return Next(outcomes);
        }

        var corrupt = await Send(ProfileMessage.Create(topic, "{\"schema_version\": 1, \"device_class\": \"raspberry-pi-4\", \"version\": 9,"));
        Assert.False(corrupt.Accepted);
        Assert.Contains("not a valid profile", corrupt.Reason);

        var foreign = await Send(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(9, "jetson-nano"))));
        Assert.False(foreign.Accepted);
        Assert.Contains("device class 'jetson-nano'", foreign.Reason);

        var older = await Send(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(4))));
        Assert.False(older.Accepted);
        Assert.Contains("older than the current 5", older.Reason);

        byte[] newer = Encoding.UTF8.GetBytes(ProfileJson.Serialize(Fitted(9)));
        var tampered = await Send(ProfileMessage.Create(topic, newer, ProfileMessage.Hash(Encoding.UTF8.GetBytes("something else"))));
        Assert.False(tampered.Accepted);
        Assert.Contains("damaged or altered", tampered.Reason);

        var invalid = await Send(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(9) with { Thermal = new ThermalModel { ThrottleCelsius = 500 } })));
        Assert.False(invalid.Accepted);
        Assert.Contains("thermal.throttle_celsius", invalid.Reason);

        Assert.Equal(5, store.Current.Version);
        Assert.Equal(5, subscriber.Refused);
        Assert.Equal(invalid, subscriber.LastRefusal);
        var refusals = Enumerable.Range(0, 5).Select(_ => NextStatus(statuses)).ToList();
        Assert.All(refusals, s => Assert.Equal("profile-refused", s.GetProperty("kind").GetString()));
        Assert.All(refusals, s => Assert.Equal(5, s.GetProperty("in_force").GetInt64()));
        Assert.Contains("damaged or altered", refusals[3].GetProperty("reason").GetString());

        // A good newer one still goes through after all that.
        var good = await Send(ProfileMessage.Create(topic, Encoding.UTF8.GetString(newer)));
        Assert.True(good.Accepted, good.Reason);
        Assert.Equal(9, store.Current.Version);
    }

    [Fact]
    public async Task The_profile_already_in_force_arriving_again_is_neither_applied_nor_reported_as_refused()
    {
        var store = new ProfileStore(Fitted(3));
        var options = new UplinkOptions { Broker = new MqttBrokerOptions { Host = "127.0.0.1", ClientId = "judge" }, DeviceId = "pi-1", DeviceClass = "raspberry-pi-4" };
        await using var session = new MqttSession(options.Broker, TimeSpan.Zero);
        var subscriber = new ProfileSubscriber(options, session, store);
        string topic = UplinkTopics.Profile(UplinkTopics.DefaultPrefix, "raspberry-pi-4");

        Assert.Null(subscriber.Judge(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(3)))));
        var same = subscriber.Judge(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(3) with { Thermal = new ThermalModel { ThrottleCelsius = 70 } })));
        Assert.False(same!.Accepted);
        Assert.Contains("version 3 is already in force", same.Reason);
        Assert.True(subscriber.Judge(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(4))))!.Accepted);
        // Its retained copy again, after a reconnect: recognised by its hash.
        Assert.Null(subscriber.Judge(ProfileMessage.Create(topic, ProfileJson.Serialize(Fitted(4)))));
        Assert.Equal((1L, 1L), (subscriber.Accepted, subscriber.Refused));
    }

    [Fact]
    public void Publishing_checks_every_profile_first_and_sends_nothing_when_one_is_bad()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("raspberry-pi-4.json"), ProfileJson.Serialize(Fitted(2)));
        File.WriteAllText(temp.File("broken.json"), "{\"schema_version\": 1}");
        var error = Assert.Throws<ArgumentException>(() => ProfilePublisher.Load(temp.Path));
        Assert.Contains("broken.json", error.Message);

        File.Delete(temp.File("broken.json"));
        File.WriteAllText(temp.File("copy.json"), ProfileJson.Serialize(Fitted(3)));
        Assert.Contains("both for device class 'raspberry-pi-4'", Assert.Throws<ArgumentException>(() => ProfilePublisher.Load(temp.Path)).Message);

        using var empty = new TempDirectory();
        Assert.Contains("holds no *.json profiles", Assert.Throws<ArgumentException>(() => ProfilePublisher.Load(empty.Path)).Message);
    }

    private static ProfileDelivery Next(System.Collections.Concurrent.BlockingCollection<ProfileDelivery> outcomes) =>
        outcomes.TryTake(out var outcome, UplinkFixtures.Patience) ? outcome : throw new TimeoutException("no profile outcome arrived");

    private static JsonElement NextStatus(System.Collections.Concurrent.BlockingCollection<JsonElement> statuses) =>
        statuses.TryTake(out var status, UplinkFixtures.Patience) ? status : throw new TimeoutException("no status message arrived");
}
