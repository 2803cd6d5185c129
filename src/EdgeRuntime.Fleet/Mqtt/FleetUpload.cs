using System.Diagnostics;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet.Mqtt;

/// <summary>One device's telemetry log, as its uplink would send it.</summary>
public sealed record DeviceLog(string DeviceId, string DeviceClass, string Directory);

/// <summary>
/// Sends devices' logs through the real uplink to a broker while fleet ingest stores what the broker delivers:
/// the path telemetry takes in the field, for simulated fleets. Each device gets its own session and cursor, as
/// separate boards would; the run ends when the store holds every record the logs hold.
/// </summary>
public static class FleetUpload
{
    public static async Task<IngestReport> UploadAndIngestAsync(FleetStore store, IReadOnlyList<DeviceLog> devices, MqttBrokerOptions broker,
        string cursorDirectory, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(devices);
        ArgumentNullException.ThrowIfNull(broker);
        var expected = devices.Select(d => (Device: d, Last: LastSequence(d))).ToList();
        long before = store.Count();
        long target = before + expected.Sum(e => e.Last.Records);
        System.IO.Directory.CreateDirectory(cursorDirectory);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var clock = Stopwatch.StartNew();

        await using var ingest = new MqttIngest(store, broker.WithClientId($"{broker.ClientId}-ingest"));
        await ingest.StartAsync(deadline.Token);
        await ingest.Session.WaitConnectedAsync(deadline.Token);
        var uploads = expected.Select(e => UploadAsync(e.Device, e.Last.Sequence, broker, cursorDirectory, deadline.Token)).ToList();
        try
        {
            await Task.WhenAll(uploads);
            while (ingest.Query(s => s.Count()) < target)
            {
                await Task.Delay(20, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"the fleet store holds {ingest.Query(s => s.Count()) - before} of the {target - before} records the {devices.Count} device logs hold after {timeout.TotalSeconds:F0} s; is the broker at {broker.Host}:{broker.Port} up?");
        }
        var report = ingest.Report();
        return new IngestReport(devices.Count, report.RecordsReceived, report.RecordsInserted, report.Duplicates, BytesLost: 0, CorruptBlocks: 0,
            clock.Elapsed.TotalSeconds);
    }

    private static async Task UploadAsync(DeviceLog device, long lastSequence, MqttBrokerOptions broker, string cursorDirectory, CancellationToken cancellationToken)
    {
        var options = new UplinkOptions
        {
            Broker = broker.WithClientId($"{broker.ClientId}-{device.DeviceId}"),
            DeviceId = device.DeviceId,
            DeviceClass = device.DeviceClass,
            LogDirectory = device.Directory,
            CursorPath = Path.Combine(cursorDirectory, device.DeviceId + ".cursor"),
            PollInterval = TimeSpan.FromMilliseconds(20),
        };
        options.Validate();
        await using var session = new MqttSession(options.Broker, TimeSpan.Zero);
        session.Start();
        await session.WaitConnectedAsync(cancellationToken);
        await using var uplink = new TelemetryUplink(options, session);
        uplink.Start();
        await uplink.WaitForAsync(lastSequence, cancellationToken);
    }

    private static (long Records, long Sequence) LastSequence(DeviceLog device)
    {
        long records = 0, last = 0;
        TelemetryLogReader.ReadDirectory(device.Directory, record =>
        {
            records++;
            last = Math.Max(last, record.Sequence);
        });
        return (records, last);
    }
}
