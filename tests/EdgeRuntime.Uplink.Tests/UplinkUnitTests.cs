using EdgeRuntime.Protocol;
using EdgeRuntime.Telemetry;
using MQTTnet.Packets;

namespace EdgeRuntime.Uplink.Tests;

public sealed class UplinkUnitTests
{
    [Fact]
    public void Backoff_doubles_from_min_to_max_and_starts_over_after_a_reset()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), jitter: 0);
        var waits = Enumerable.Range(0, 8).Select(_ => backoff.Next().TotalSeconds).ToList();
        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], waits);
        backoff.Reset();
        Assert.Equal(1, backoff.Next().TotalSeconds);
    }

    [Fact]
    public void Backoff_from_a_zero_min_retries_at_once()
    {
        // The app client's InitialBackoff may be zero: reconnect without waiting.
        var backoff = new ExponentialBackoff(TimeSpan.Zero, TimeSpan.FromSeconds(2), jitter: 0.5);
        Assert.All(Enumerable.Range(0, 5).Select(_ => backoff.Next()), wait => Assert.Equal(TimeSpan.Zero, wait));
    }

    [Fact]
    public void Backoff_jitter_only_shortens_and_by_at_most_its_share()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), jitter: 0.2, random: new Random(7));
        var waits = Enumerable.Range(0, 200).Select(_ => backoff.Next().TotalSeconds).ToList();
        Assert.All(waits, w => Assert.InRange(w, 8, 10));
        Assert.True(waits.Distinct().Count() > 100, "jitter did not spread the waits");
        Assert.Throws<ArgumentException>(() => new ExponentialBackoff(TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentException>(() => new ExponentialBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Every_bad_option_is_named()
    {
        var options = new UplinkOptions
        {
            Broker = new MqttBrokerOptions
            {
                Host = "",
                Port = 70000,
                ClientId = "",
                CaFile = "/nonexistent/ca.pem",
                Password = "x",
                BackoffMin = TimeSpan.FromSeconds(5),
                BackoffMax = TimeSpan.FromSeconds(1),
            },
            TopicPrefix = "edgert/#",
            DeviceId = "pi/1",
            DeviceClass = "",
            BatchSize = 0,
        };
        string message = Assert.Throws<ArgumentException>(options.Validate).Message;
        foreach (string expected in new[]
        {
            "Host is empty", "Port 70000", "ClientId is empty", "CaFile and AllowUntrustedCertificates need UseTls", "CaFile '/nonexistent/ca.pem' does not exist",
            "Password is set without Username", "BackoffMax 00:00:01 is below BackoffMin 00:00:05", "TopicPrefix 'edgert/#'", "DeviceId 'pi/1'",
            "DeviceClass is empty", "BatchSize 0",
        })
        {
            Assert.Contains(expected, message);
        }
        Assert.Empty(new UplinkOptions { Broker = new() { Host = "broker", ClientId = "pi-1" }, DeviceId = "pi-1", DeviceClass = "raspberry-pi-4" }.Problems());
    }

    [Theory]
    [InlineData("broker.local:8883", "broker.local", 8883)]
    [InlineData("10.0.0.5", "10.0.0.5", 1883)]
    [InlineData("[::1]:1884", "::1", 1884)]
    public void Endpoints_parse(string endpoint, string host, int port) => Assert.Equal((host, port), MqttBrokerOptions.ParseEndpoint(endpoint));

    [Theory]
    [InlineData("broker:0")]
    [InlineData("broker:http")]
    [InlineData(":1883")]
    public void Bad_endpoints_are_refused_with_the_reason(string endpoint) =>
        Assert.Contains(endpoint, Assert.Throws<ArgumentException>(() => MqttBrokerOptions.ParseEndpoint(endpoint)).Message);

    [Fact]
    public void The_cursor_survives_a_round_trip_and_a_damaged_one_is_an_error_not_a_silent_restart()
    {
        using var temp = new TempDirectory();
        string path = temp.File("state/uplink.cursor");
        Assert.Equal(UplinkCursor.Start, UplinkCursor.Load(path));
        new UplinkCursor(3, 12_345).Save(path);
        Assert.Equal(new UplinkCursor(3, 12_345), UplinkCursor.Load(path));
        Assert.False(File.Exists(path + ".tmp"));
        File.WriteAllText(path, "{\"FormatVersion\":1,\"Segment\":3,");
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => UplinkCursor.Load(path)).Message);
        File.WriteAllText(path, "{\"FormatVersion\":2,\"Segment\":3,\"Sequence\":1}");
        Assert.Contains("not a version 1 cursor", Assert.Throws<InvalidDataException>(() => UplinkCursor.Load(path)).Message);
    }

    [Fact]
    public void A_telemetry_message_round_trips_and_refuses_records_of_another_device()
    {
        var records = Enumerable.Range(1, 3).Select(i => new TelemetryRecord
        {
            Sequence = i, DeviceId = "pi-1", DeviceClass = "raspberry-pi-4", Kind = TelemetryRecordKind.Sensor,
            Sensor = new SensorSample { Name = "soc_celsius", Value = 50 + i, Unit = "C" },
        }).ToList();
        var message = TelemetryMessage.Create("edgert/telemetry/raspberry-pi-4/pi-1", records);
        Assert.Equal("pi-1:1-3", message.UserProperties.Single(p => p.Name == TelemetryMessage.RecordIdProperty).ReadValueAsString());
        byte[] payload = System.Buffers.BuffersExtensions.ToArray(message.Payload);
        var decoded = TelemetryMessage.Decode(payload, "pi-1");
        Assert.Equal([51.0, 52.0, 53.0], decoded.Select(r => r.Sensor!.Value));
        Assert.Contains("from device 'pi-1'", Assert.Throws<InvalidDataException>(() => TelemetryMessage.Decode(payload, "pi-2")).Message);
        Assert.Contains("not a telemetry batch", Assert.Throws<InvalidDataException>(() => TelemetryMessage.Decode(new byte[] { 1, 2, 3 }, "pi-1")).Message);
    }

    [Fact]
    public void Telemetry_topics_parse_back()
    {
        Assert.Equal(("raspberry-pi-4", "pi-1"), UplinkTopics.ParseTelemetry("edgert", UplinkTopics.Telemetry("edgert", "raspberry-pi-4", "pi-1")));
        Assert.Null(UplinkTopics.ParseTelemetry("edgert", "edgert/telemetry/raspberry-pi-4"));
        Assert.Null(UplinkTopics.ParseTelemetry("edgert", "other/telemetry/a/b"));
    }
}
