using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;

namespace EdgeRuntime.Uplink.Tests;

/// <summary>The whole path against a real broker: device log → uplink → Mosquitto → fleet ingest → DuckDB.</summary>
public sealed class StoreAndForwardTests
{
    [Fact]
    public async Task A_broker_killed_mid_upload_and_restarted_loses_nothing_and_ingest_stores_each_record_once()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("pi-1");
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 20_000);
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, UplinkFixtures.Broker(broker, "fleet-ingest"));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken); // connected and subscribed

        var options = UplinkFixtures.Device(broker, logs, batchSize: 10);
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        await using var uplink = new TelemetryUplink(options, session);
        session.Start();
        uplink.Start();
        await UplinkFixtures.EventuallyAsync(() => uplink.Cursor.Sequence >= 2_000, "the first 2000 records to be acknowledged");

        await broker.RestartAsync(TestContext.Current.CancellationToken);   // SIGKILL, then the same port again
        long acknowledgedAtKill = uplink.Cursor.Sequence;
        Assert.True(acknowledgedAtKill < last, $"the broker was killed after the upload finished ({acknowledgedAtKill} of {last}); the test proves nothing");

        await uplink.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last, $"all {last} records in the fleet database (now {ingest.Query(s => s.Count())})");

        Assert.True(session.Connects >= 2, "the device never reconnected");
        Assert.True(ingest.Session.Connects >= 2, "ingest never reconnected");
        Assert.Equal(last, Scalar(ingest, "SELECT count(DISTINCT sequence) FROM records WHERE device_id = 'pi-1'"));
        Assert.Equal(1, Scalar(ingest, "SELECT min(sequence) FROM records"));
        Assert.Equal(last, Scalar(ingest, "SELECT max(sequence) FROM records"));
        var report = ingest.Report();
        TestContext.Current.TestOutputHelper?.WriteLine($"acknowledged at the kill: {acknowledgedAtKill}; ingest received {report.RecordsReceived} " +
            $"({report.Duplicates} duplicates dropped), asked for {report.ReplaysRequested} resends; the device moved back {uplink.Replays} times");
        Assert.Equal(last, report.RecordsInserted);
        Assert.Equal(report.RecordsReceived - last, report.Duplicates);
        Assert.Equal(0, uplink.RecordsMissing);
    }

    [Fact]
    public async Task A_restarted_device_resumes_from_its_cursor_without_loss_or_resending_what_was_acknowledged()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("pi-2");
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 3_000, deviceId: "pi-2");
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, UplinkFixtures.Broker(broker, "fleet-ingest"));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken); // connected and subscribed
        var options = UplinkFixtures.Device(broker, logs, deviceId: "pi-2", batchSize: 50);

        UplinkCursor stoppedAt;
        long sentBefore;
        {
            await using var session = new MqttSession(options.Broker, options.SessionExpiry);
            var uplink = new TelemetryUplink(options, session);
            session.Start();
            uplink.Start();
            await UplinkFixtures.EventuallyAsync(() => uplink.Cursor.Sequence >= 1_000, "the first 1000 records to be acknowledged");
            await uplink.DisposeAsync();
            stoppedAt = uplink.Cursor;
            sentBefore = uplink.RecordsSent;
        }
        Assert.True(stoppedAt.Sequence < last, "the first run sent everything; the restart proves nothing");
        Assert.Equal(stoppedAt, UplinkCursor.Load(options.ResolvedCursorPath));

        // The device comes back: a new process reads the cursor file and goes on from there.
        await using var session2 = new MqttSession(options.Broker, options.SessionExpiry);
        await using var resumed = new TelemetryUplink(options, session2);
        Assert.Equal(stoppedAt, resumed.Cursor);
        session2.Start();
        resumed.Start();
        await resumed.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last, $"all {last} records in the fleet database (now {ingest.Query(s => s.Count())})");

        Assert.Equal(last - stoppedAt.Sequence, resumed.RecordsSent);
        Assert.Equal(last, sentBefore + resumed.RecordsSent);
        Assert.Equal(last, Scalar(ingest, "SELECT count(DISTINCT sequence) FROM records WHERE device_id = 'pi-2'"));
    }

    [Fact]
    public async Task Segments_evicted_while_the_broker_was_away_are_reported_as_a_gap_and_the_rest_is_sent()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("pi-3");
        // Small segments and a small bound: the log keeps only its newest records.
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 4_000, deviceId: "pi-3", segmentBytes: 32 * 1024, maxTotalBytes: 96 * 1024);
        long first = EdgeRuntime.Telemetry.TelemetryLogReader.ReadDirectory(logs).FirstSequence!.Value;
        Assert.True(first > 1, "nothing was evicted; the test proves nothing");
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, UplinkFixtures.Broker(broker, "fleet-ingest"));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken); // connected and subscribed

        var options = UplinkFixtures.Device(broker, logs, deviceId: "pi-3");
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        await using var uplink = new TelemetryUplink(options, session);
        session.Start();
        uplink.Start();
        await uplink.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last - first + 1, "the records the log still held in the fleet database");

        Assert.Equal(first - 1, uplink.RecordsMissing);
        Assert.Contains($"records 1-{first - 1}", Assert.Single(uplink.Gaps));
        Assert.Equal(first, Scalar(ingest, "SELECT min(sequence) FROM records"));
    }

    [Fact]
    public async Task The_uplink_waits_with_backoff_while_no_broker_listens_and_sends_everything_once_one_does()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("pi-4");
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 500, deviceId: "pi-4");
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, UplinkFixtures.Broker(broker, "fleet-ingest"));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken); // connected and subscribed
        // Mosquitto saves a new subscription only with the next stored message; killed before that, it forgets ingest's
        // session and drops what devices send until ingest resubscribes. This test is about the device's side, so the
        // broker first gets a message to save.
        await UplinkFixtures.PersistBrokerStateAsync(broker);
        broker.Kill();

        var options = UplinkFixtures.Device(broker, logs, deviceId: "pi-4");
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        await using var uplink = new TelemetryUplink(options, session);
        session.Start();
        uplink.Start();
        await UplinkFixtures.EventuallyAsync(() => session.FailedAttempts >= 3, "three failed connection attempts");
        Assert.Equal(0, uplink.Cursor.Sequence);
        Assert.NotNull(session.LastError);

        await broker.RestartAsync(TestContext.Current.CancellationToken);
        await uplink.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last, "every record in the fleet database");
    }

    [Fact]
    public async Task Ingest_asks_the_device_to_resend_a_hole_the_broker_lost_and_the_device_fills_it()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("pi-5");
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 30, deviceId: "pi-5");
        var records = new List<EdgeRuntime.Telemetry.TelemetryRecord>();
        EdgeRuntime.Telemetry.TelemetryLogReader.ReadDirectory(logs, records.Add);
        using var broker = await UplinkFixtures.StartBrokerAsync(temp);
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, UplinkFixtures.Broker(broker, "fleet-ingest"));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken); // connected and subscribed

        // The device believes everything was acknowledged, but records 11-20 never reached ingest (a broker lost them).
        var options = UplinkFixtures.Device(broker, logs, deviceId: "pi-5");
        new UplinkCursor(1, last).Save(options.ResolvedCursorPath);
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        await using var uplink = new TelemetryUplink(options, session);
        session.Start();
        uplink.Start();
        await session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        string topic = UplinkTopics.Telemetry(options.TopicPrefix, options.DeviceClass, options.DeviceId);
        Assert.Null(await session.PublishAsync(TelemetryMessage.Create(topic, records[..10]), TestContext.Current.CancellationToken));
        Assert.Null(await session.PublishAsync(TelemetryMessage.Create(topic, records[20..]), TestContext.Current.CancellationToken));

        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last, $"records 11-20 resent (the store holds {ingest.Query(s => s.Count())})");
        Assert.Equal(1, ingest.Report().ReplaysRequested);
        Assert.Equal(1, uplink.Replays);
        Assert.Equal(last, uplink.Cursor.Sequence);
    }

    private static long Scalar(MqttIngest ingest, string sql) => ingest.Query(store =>
    {
        using var command = store.Connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    });
}
