using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet;

/// <summary>What `edgert fleet ingest --from` read and stored, and where.</summary>
public sealed record LogIngestSummary(int Logs, long RecordsRead, long RecordsInserted, long Duplicates, long BytesLost, int CorruptBlocks,
    double Seconds, double RecordsPerSecond, long TotalRecords, string? Parquet)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string Database { get; init; } = "";

    public void WriteText(TextWriter output)
    {
        output.WriteLine($"{Logs} logs: {RecordsRead} records read, {RecordsInserted} new, {Duplicates} already stored; " +
            $"{BytesLost} bytes lost in {CorruptBlocks} corrupt blocks");
        output.WriteLine($"{Seconds:F2} s, {RecordsPerSecond:F0} records/s; {TotalRecords} records in {Database}");
        if (Parquet is not null)
        {
            output.WriteLine($"parquet written to {Parquet}");
        }
    }
}

/// <summary>What `edgert fleet ingest --mqtt` received and stored, and where.</summary>
public sealed record BrokerIngestSummary(long Messages, long RecordsReceived, long RecordsInserted, long Duplicates, long RejectedMessages,
    long Devices, long ReplaysRequested, double Seconds, double RecordsPerSecond, long TotalRecords, string? Parquet)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public string Database { get; init; } = "";

    public void WriteText(TextWriter output)
    {
        output.WriteLine($"{Messages} messages from {Devices} devices: {RecordsReceived} records, {RecordsInserted} new, " +
            $"{Duplicates} duplicates dropped, {RejectedMessages} messages rejected, {ReplaysRequested} resends asked for");
        output.WriteLine($"{Seconds:F2} s; {TotalRecords} records in {Database}");
        if (Parquet is not null)
        {
            output.WriteLine($"parquet written to {Parquet}");
        }
    }
}

/// <summary>Device telemetry into the fleet database: from log directories, or live from an MQTT broker.</summary>
public static class FleetIngestion
{
    /// <summary>Every device log under <paramref name="roots"/> (a log directory, or a directory of them) into the database.</summary>
    public static LogIngestSummary FromLogs(IReadOnlyList<string> roots, string databasePath, string? parquetFile)
    {
        var logs = FindLogs(roots);
        using var store = FleetStore.Open(databasePath);
        var report = store.IngestLogs(logs);
        if (parquetFile is not null)
        {
            store.ExportParquet(parquetFile);
        }
        return new LogIngestSummary(report.Logs, report.RecordsRead, report.RecordsInserted, report.Duplicates, report.BytesLost,
            report.CorruptBlocks, report.Seconds, report.RecordsPerSecond, store.Count(), parquetFile) { Database = databasePath };
    }

    /// <summary>Telemetry from the broker until <paramref name="untilIdle"/> passes without a message (or until cancelled).</summary>
    /// <param name="started">Told what is being ingested once the session runs.</param>
    public static async Task<BrokerIngestSummary> FromBrokerAsync(MqttBrokerOptions broker, string prefix, string databasePath, string? parquetFile,
        double? untilIdle, Action<string>? started, CancellationToken cancellation)
    {
        if (untilIdle is double seconds && !(seconds > 0 && seconds <= 86_400))
        {
            throw new ArgumentException($"--until-idle must be within (0, 86400] seconds, not {seconds}");
        }
        using var store = FleetStore.Open(databasePath);
        MqttIngestReport report;
        await using (var ingest = new MqttIngest(store, broker, prefix))
        {
            await ingest.StartAsync(cancellation);
            started?.Invoke($"ingesting {UplinkTopics.AllTelemetry(prefix)} from {broker.Host}:{broker.Port} as session '{broker.ClientId}' into {databasePath}; " +
                (untilIdle is double s ? $"stops after {s} s without messages" : "Ctrl+C stops"));
            await ingest.RunAsync(untilIdle is double idle ? TimeSpan.FromSeconds(idle) : null, cancellation);
            report = ingest.Report();
            if (report.Connects == 0)
            {
                throw new IOException($"could not connect to the broker at {broker.Host}:{broker.Port}: {ingest.Session.LastError ?? "no answer"}");
            }
        }
        if (parquetFile is not null)
        {
            store.ExportParquet(parquetFile);
        }
        return new BrokerIngestSummary(report.Messages, report.RecordsReceived, report.RecordsInserted, report.Duplicates, report.RejectedMessages,
            report.Devices, report.ReplaysRequested, report.Seconds, report.RecordsPerSecond, store.Count(), parquetFile) { Database = databasePath };
    }

    /// <summary>Each root that holds segments, else its subdirectories that do.</summary>
    public static List<string> FindLogs(IEnumerable<string> roots)
    {
        var logs = new List<string>();
        foreach (string root in roots)
        {
            if (!Directory.Exists(root))
            {
                throw new ArgumentException($"--from '{root}' is not a directory");
            }
            if (SegmentFiles.List(root).Count > 0)
            {
                logs.Add(root);
                continue;
            }
            var devices = Directory.GetDirectories(root).Where(d => SegmentFiles.List(d).Count > 0).Order(StringComparer.Ordinal).ToList();
            if (devices.Count == 0)
            {
                throw new ArgumentException($"--from '{root}' holds no telemetry segments (*{SegmentFiles.Extension}), directly or one level down");
            }
            logs.AddRange(devices);
        }
        return logs;
    }
}
