using System.Diagnostics;
using DuckDB.NET.Data;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Fleet;

/// <summary>
/// Telemetry of a fleet in an embedded DuckDB database: one row per record, keyed by (device_id, sequence), so
/// ingesting the same log twice (at-least-once delivery, a re-run) stores each record once.
/// </summary>
public sealed class FleetStore : IDisposable
{
    private readonly DuckDBConnection _connection;

    private const string Columns = "device_id, sequence, unix_ms, device_class, kind, variant, window_seconds, request_count, mean_ms, p95_ms, " +
        "frequency_mhz, celsius, power_watts, from_variant, to_variant, reason, detail, sensor_name, sensor_value, sensor_unit, error_source, error_message, " +
        "service_mean_ms, service_p95_ms, queue_wait_ms, cpu_ms_per_inference, knobs";

    private const string Schema = """
        (device_id VARCHAR NOT NULL, sequence BIGINT NOT NULL, unix_ms BIGINT NOT NULL, device_class VARCHAR NOT NULL, kind VARCHAR NOT NULL,
         variant VARCHAR, window_seconds DOUBLE, request_count BIGINT, mean_ms DOUBLE, p95_ms DOUBLE, frequency_mhz DOUBLE, celsius DOUBLE,
         power_watts DOUBLE, from_variant VARCHAR, to_variant VARCHAR, reason VARCHAR, detail VARCHAR, sensor_name VARCHAR,
         sensor_value DOUBLE, sensor_unit VARCHAR, error_source VARCHAR, error_message VARCHAR,
         service_mean_ms DOUBLE, service_p95_ms DOUBLE, queue_wait_ms DOUBLE, cpu_ms_per_inference DOUBLE, knobs VARCHAR
        """;

    /// <summary>Columns added after the first schema, appended to databases created before them.</summary>
    private static readonly string[] AddedColumns = ["service_mean_ms DOUBLE", "service_p95_ms DOUBLE", "queue_wait_ms DOUBLE", "cpu_ms_per_inference DOUBLE", "knobs VARCHAR"];

    private FleetStore(DuckDBConnection connection)
    {
        _connection = connection;
    }

    /// <param name="databasePath">DuckDB file, created when missing; ":memory:" for a database that lives only in this process.</param>
    public static FleetStore Open(string databasePath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(databasePath);
        if (databasePath != ":memory:")
        {
            string? parent = Path.GetDirectoryName(Path.GetFullPath(databasePath));
            if (parent is not null)
            {
                Directory.CreateDirectory(parent);
            }
        }
        var connection = new DuckDBConnection($"Data Source={databasePath}");
        try
        {
            connection.Open();
            var store = new FleetStore(connection);
            store.Execute($"CREATE TABLE IF NOT EXISTS records {Schema}, PRIMARY KEY (device_id, sequence))");
            foreach (string column in AddedColumns)
            {
                store.Execute($"ALTER TABLE records ADD COLUMN IF NOT EXISTS {column}");
            }
            return store;
        }
        catch (DuckDBException e)
        {
            connection.Dispose();
            throw new InvalidDataException($"fleet database '{databasePath}' cannot be opened: {e.Message}", e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public DuckDBConnection Connection => _connection;

    public long Count() => Convert.ToInt64(Scalar("SELECT count(*) FROM records"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Reads each log directory and stores records not seen before.</summary>
    public IngestReport IngestLogs(IEnumerable<string> logDirectories)
    {
        var started = Stopwatch.GetTimestamp();
        long read = 0, lost = 0;
        int corrupt = 0, logs = 0;
        long inserted = Stage(appender =>
        {
            foreach (string directory in logDirectories)
            {
                var report = TelemetryLogReader.ReadDirectory(directory, record => Append(appender, record));
                read += report.Records;
                lost += report.BytesLost;
                corrupt += report.CorruptBlocks;
                logs++;
            }
        });
        return new IngestReport(logs, read, inserted, read - inserted, lost, corrupt, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>Stores records not seen before (records delivered again by an at-least-once transport are dropped by their key).</summary>
    /// <returns>How many were new.</returns>
    public long IngestRecords(IReadOnlyCollection<TelemetryRecord> records) => Stage(appender =>
    {
        foreach (var record in records)
        {
            Append(appender, record);
        }
    });

    /// <summary>Appends rows to a staging table, then moves those not stored yet into the records table; returns how many moved.</summary>
    private long Stage(Action<DuckDBAppender> fill)
    {
        long before = Count();
        Execute($"CREATE OR REPLACE TEMP TABLE staging {Schema})");
        try
        {
            using (var appender = _connection.CreateAppender("staging"))
            {
                fill(appender);
            }
            // Duplicates within one batch and against earlier ingests both collapse on the key.
            Execute($"INSERT OR IGNORE INTO records ({Columns}) SELECT {Columns} FROM staging QUALIFY row_number() OVER (PARTITION BY device_id, sequence) = 1");
        }
        finally
        {
            Execute("DROP TABLE IF EXISTS staging");
        }
        return Count() - before;
    }

    /// <summary>The highest sequence number stored for a device, or null when there is none.</summary>
    public long? HighestSequence(string deviceId)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT max(sequence) FROM records WHERE device_id = $device";
        command.Parameters.Add(new DuckDBParameter("device", deviceId));
        return command.ExecuteScalar() is long value ? value : null;
    }

    /// <summary>Writes the records table as a Parquet file, for engines that handle fleets too large for one machine.</summary>
    public void ExportParquet(string path)
    {
        string full = Path.GetFullPath(path);
        Execute($"COPY (SELECT * FROM records ORDER BY device_id, sequence) TO '{full.Replace("'", "''", StringComparison.Ordinal)}' (FORMAT parquet)");
    }

    public void Dispose() => _connection.Dispose();

    internal void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        try
        {
            command.ExecuteNonQuery();
        }
        catch (DuckDBException e)
        {
            // Failures here are the user's environment (an unwritable export path, a full disk), reported as I/O errors.
            throw new IOException($"fleet database: {e.Message}", e);
        }
    }

    internal object? Scalar(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Append(DuckDBAppender appender, TelemetryRecord record)
    {
        var row = appender.CreateRow();
        row.AppendValue(record.DeviceId).AppendValue(record.Sequence).AppendValue(record.UnixTimeMilliseconds).AppendValue(record.DeviceClass)
            .AppendValue(record.Kind.ToString().ToLowerInvariant());
        var inference = record.Inference;
        row.AppendValue(inference?.Variant).AppendValue(inference?.WindowSeconds).AppendValue(inference?.Count).AppendValue(inference?.MeanMs)
            .AppendValue(inference?.P95Ms).AppendValue(inference?.FrequencyMhz).AppendValue(inference?.Celsius).AppendValue(inference?.PowerWatts);
        var change = record.Switch;
        row.AppendValue(change?.From).AppendValue(change?.To).AppendValue(change?.Reason).AppendValue(change?.Detail);
        var sensor = record.Sensor;
        row.AppendValue(sensor?.Name).AppendValue(sensor?.Value).AppendValue(sensor?.Unit);
        row.AppendValue(record.Error?.Source).AppendValue(record.Error?.Message);
        row.AppendValue(inference?.ServiceMeanMs).AppendValue(inference?.ServiceP95Ms).AppendValue(inference?.QueueWaitMeanMs)
            .AppendValue(inference?.CpuMsPerInference).AppendValue(inference?.Knobs);
        row.EndRow();
    }
}
