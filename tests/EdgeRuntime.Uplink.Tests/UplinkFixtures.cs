using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Uplink.Tests;

/// <summary>A real Mosquitto broker per test (the test fails, saying how to install it, when it is missing), and device logs.</summary>
internal static class UplinkFixtures
{
    /// <summary>Generous: the machine is shared and slow at times; no assertion is about speed.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    public static async Task<MosquittoBroker> StartBrokerAsync(TempDirectory directory, MosquittoSecurity? security = null)
    {
        try
        {
            return await MosquittoBroker.StartAsync(directory.File("broker"), security);
        }
        catch (FileNotFoundException e)
        {
            Assert.Fail($"These tests need a real MQTT broker: {e.Message}");
            throw;
        }
    }

    public static MqttBrokerOptions Broker(MosquittoBroker broker, string clientId) => new()
    {
        Host = broker.Host,
        Port = broker.Port,
        ClientId = clientId,
        BackoffMin = TimeSpan.FromMilliseconds(50),
        BackoffMax = TimeSpan.FromMilliseconds(500),
        KeepAlive = TimeSpan.FromSeconds(5),
        Timeout = TimeSpan.FromSeconds(10),
    };

    public static UplinkOptions Device(MosquittoBroker broker, string logDirectory, string deviceId = "pi-1", int batchSize = 25) => new()
    {
        Broker = Broker(broker, $"device-{deviceId}"),
        DeviceId = deviceId,
        DeviceClass = "raspberry-pi-4",
        LogDirectory = logDirectory,
        BatchSize = batchSize,
        PollInterval = TimeSpan.FromMilliseconds(50),
        CursorSaveInterval = TimeSpan.Zero,
    };

    /// <summary>Writes <paramref name="count"/> records through the real log; returns the last sequence number.</summary>
    public static async Task<long> WriteRecordsAsync(string directory, int count, string deviceId = "pi-1", long segmentBytes = 4 * 1024 * 1024, long maxTotalBytes = 64 * 1024 * 1024)
    {
        await using var log = TelemetryLog.Open(new TelemetryLogOptions
        {
            Directory = directory,
            DeviceId = deviceId,
            DeviceClass = "raspberry-pi-4",
            SyncPolicy = TelemetrySyncPolicy.OnFlushOnly,
            SegmentBytes = segmentBytes,
            MaxTotalBytes = maxTotalBytes,
            QueueCapacity = Math.Max(count, 1),
        });
        for (int i = 0; i < count; i++)
        {
            var record = i % 3 == 0
                ? TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = 40 + i % 30, Unit = "C" })
                : TelemetryRecord.For(new InferenceSummary { Variant = i % 2 == 0 ? "fp32" : "int8", WindowSeconds = 10, Count = 100 + i, P95Ms = 3 + i % 7, MeanMs = 2, FrequencyMhz = 1500, Celsius = 55 });
            Assert.True(log.TryWrite(record));
        }
        Assert.True(await log.FlushAsync());
        return log.LastSequence;
    }

    /// <summary>Makes the broker write its persistence file (sessions and subscriptions included): a retained message is a change it saves.</summary>
    public static async Task PersistBrokerStateAsync(MosquittoBroker broker)
    {
        string file = Path.Combine(broker.Directory, "mosquitto.db");
        var before = File.Exists(file) ? File.GetLastWriteTimeUtc(file) : DateTime.MinValue;
        await using var session = new MqttSession(Broker(broker, "persist-now"), TimeSpan.Zero);
        session.Start();
        await session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);
        var message = new MQTTnet.MqttApplicationMessageBuilder().WithTopic("edgert-test/persist").WithPayload(Guid.NewGuid().ToString())
            .WithRetainFlag().WithQualityOfServiceLevel(MQTTnet.Protocol.MqttQualityOfServiceLevel.AtLeastOnce).Build();
        Assert.Null(await session.PublishAsync(message, TestContext.Current.CancellationToken));
        await EventuallyAsync(() => File.Exists(file) && File.GetLastWriteTimeUtc(file) > before, "the broker to save its state");
    }

    public static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {Patience.TotalSeconds} s waiting for {what}");
            }
            await Task.Delay(20);
        }
    }
}
