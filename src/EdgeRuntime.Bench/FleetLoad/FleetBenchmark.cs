using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Bench.FleetLoad;

/// <summary>
/// Load benchmarks of the fleet pipeline: synthetic device logs through the real log writer, DuckDB ingest
/// (twice: the second pass is all duplicates) and the fit checked on held-out devices; and the MQTT uplink
/// against bare QoS 1 publishing of the same batches on a private broker, interleaved in rounds.
/// </summary>
public static class FleetBenchmark
{
    public sealed record Report(int Devices, double Hours, long Records, long LogBytes, double WriteSeconds, double WriteRecordsPerSecond,
        double IngestSeconds, double IngestRecordsPerSecond, double ReingestSeconds, long Duplicates, double FitSeconds, int HeldOutDevices,
        double HeldOutMeanError, double HeldOutWithin10Percent, double? TimeConstantSeconds, double TrueTimeConstantSeconds);

    public sealed record UplinkReport(long Records, int BatchSize, int Rounds, double UplinkRecordsPerSecond, double RawPublishRecordsPerSecond,
        double UplinkVsRaw, double EndToEndRecordsPerSecond, long EndToEndStored, string Broker);

    public static async Task<Report> RunAsync(string root, int devices, double hours, CancellationToken cancellation)
    {
        string logs = Path.Combine(root, "logs");
        var names = Enumerable.Range(0, devices).Select(i => $"device-{i:D6}").ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long records = 0;
        for (int i = 0; i < devices; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            records += await SyntheticFleet.WriteDeviceAsync(logs, names[i], 10 + 25.0 * i / devices, i, TimeSpan.FromHours(hours));
        }
        double writeSeconds = clock.Elapsed.TotalSeconds;
        long bytes = Directory.EnumerateFiles(logs, "*" + SegmentFiles.Extension, SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        using var store = FleetStore.Open(Path.Combine(root, "fleet.duckdb"));
        var ingest = store.IngestLogs(names.Select(n => Path.Combine(logs, n)));
        var reingest = store.IngestLogs(names.Select(n => Path.Combine(logs, n)));
        // Every fifth device is held out of the fit and predicted.
        var heldOut = names.Where((_, i) => i % 5 == 4).ToHashSet();
        clock.Restart();
        var fitted = new ProfileFitter(store).Fit(SyntheticFleet.DeviceClass, heldOut);
        double fitSeconds = clock.Elapsed.TotalSeconds;
        var errors = new List<double>();
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = "SELECT device_id, variant, frequency_mhz, celsius, p95_ms FROM records WHERE kind = 'inference'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (heldOut.Contains(reader.GetString(0)))
                {
                    double predicted = fitted.Latency[reader.GetString(1)].Predict(reader.GetDouble(2), reader.GetDouble(3));
                    errors.Add(Math.Abs(predicted - reader.GetDouble(4)) / reader.GetDouble(4));
                }
            }
        }
        return new Report(devices, hours, records, bytes, writeSeconds, records / writeSeconds, ingest.Seconds, ingest.RecordsPerSecond,
            reingest.Seconds, reingest.Duplicates, fitSeconds, heldOut.Count, errors.Count > 0 ? errors.Average() : double.NaN,
            errors.Count > 0 ? errors.Count(e => e <= 0.1) / (double)errors.Count : double.NaN, fitted.TimeConstantSeconds, SyntheticFleet.TimeConstantSeconds);
    }

    public static async Task<UplinkReport> RunUplinkAsync(string root, MosquittoBroker broker, int count, int batchSize, int rounds, CancellationToken cancellation)
    {
        string logs = Path.Combine(root, "bench-device");
        long last;
        await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = logs, DeviceId = "bench-device", DeviceClass = SyntheticFleet.DeviceClass, QueueCapacity = count }))
        {
            for (int i = 0; i < count; i++)
            {
                log.TryWrite(TelemetryRecord.For(new InferenceSummary { Variant = "fp32", WindowSeconds = 10, Count = 1000 + i, MeanMs = 2.5, P95Ms = 4.1, FrequencyMhz = 1500, Celsius = 55 }));
            }
            await log.FlushAsync(cancellation);
            last = log.LastSequence;
        }
        var all = new List<TelemetryRecord>(count);
        TelemetryLogReader.ReadDirectory(logs, all.Add);
        MqttBrokerOptions Broker(string clientId) => new() { Host = broker.Host, Port = broker.Port, ClientId = clientId, BackoffMin = TimeSpan.FromMilliseconds(50), BackoffMax = TimeSpan.FromSeconds(1) };
        var uplinkRates = new List<double>();
        var rawRates = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            var options = new UplinkOptions
            {
                Broker = Broker($"bench-uplink-{round}"), DeviceId = "bench-device", DeviceClass = SyntheticFleet.DeviceClass, LogDirectory = logs,
                CursorPath = Path.Combine(root, $"cursor-{round}"), BatchSize = batchSize, PollInterval = TimeSpan.FromMilliseconds(20),
            };
            await using (var session = new MqttSession(options.Broker, TimeSpan.Zero))
            {
                session.Start();
                await session.WaitConnectedAsync(cancellation);
                await using var uplink = new TelemetryUplink(options, session);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                uplink.Start();
                await uplink.WaitForAsync(last, cancellation);
                uplinkRates.Add(count / clock.Elapsed.TotalSeconds);
            }
            await using (var session = new MqttSession(Broker($"bench-raw-{round}"), TimeSpan.Zero))
            {
                session.Start();
                await session.WaitConnectedAsync(cancellation);
                string topic = UplinkTopics.Telemetry(UplinkTopics.DefaultPrefix, SyntheticFleet.DeviceClass, "bench-raw");
                var messages = all.Chunk(batchSize).Select(chunk => TelemetryMessage.Create(topic, chunk)).ToList();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                foreach (var message in messages)
                {
                    if (await session.PublishAsync(message, cancellation) is string refusal)
                    {
                        throw new IOException($"the broker refused a message: {refusal}");
                    }
                }
                rawRates.Add(count / clock.Elapsed.TotalSeconds);
            }
        }
        // Once end to end: a fresh device session, ingest subscribed first.
        using var store = FleetStore.Open(Path.Combine(root, "fleet.duckdb"));
        double endToEnd;
        await using (var ingest = new MqttIngest(store, Broker("bench-ingest")))
        {
            await ingest.StartAsync(cancellation);
            await ingest.Session.WaitConnectedAsync(cancellation);
            var options = new UplinkOptions
            {
                Broker = Broker("bench-uplink-e2e"), DeviceId = "bench-device", DeviceClass = SyntheticFleet.DeviceClass, LogDirectory = logs,
                CursorPath = Path.Combine(root, "cursor-e2e"), BatchSize = batchSize, PollInterval = TimeSpan.FromMilliseconds(20),
            };
            await using var session = new MqttSession(options.Broker, TimeSpan.Zero);
            session.Start();
            await session.WaitConnectedAsync(cancellation);
            await using var uplink = new TelemetryUplink(options, session);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            uplink.Start();
            while (ingest.RecordsInserted < count)
            {
                await Task.Delay(5, cancellation);
            }
            endToEnd = count / clock.Elapsed.TotalSeconds;
        }
        double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        return new UplinkReport(count, batchSize, rounds, Median(uplinkRates), Median(rawRates), Median(uplinkRates) / Median(rawRates), endToEnd, store.Count(), "mosquitto");
    }

    /// <summary>
    /// `edgert fleet bench`: the run in <paramref name="work"/>, or in a temporary directory deleted afterwards.
    /// </summary>
    public static async Task<Report> RunCheckedAsync(string? work, int devices, double hours, CancellationToken cancellation)
    {
        if (devices < 5 || devices > 100_000)
        {
            throw new ArgumentException($"--devices must be within [5, 100000], not {devices}");
        }
        if (!(hours > 0) || hours > 24 * 30)
        {
            throw new ArgumentException($"--hours must be within (0, 720], not {hours}");
        }
        string root = work ?? Path.Combine(Path.GetTempPath(), "edgeruntime-fleet-bench", Guid.NewGuid().ToString("N"));
        try
        {
            return await RunAsync(root, devices, hours, cancellation);
        }
        finally
        {
            if (work is null)
            {
                DeleteQuietly(root);
            }
        }
    }

    public static void WriteText(TextWriter output, Report report)
    {
        output.WriteLine($"{report.Devices} devices x {report.Hours} h: {report.Records} records, {report.LogBytes / 1e6:F1} MB of logs");
        output.WriteLine($"  write     {report.WriteSeconds:F2} s  {report.WriteRecordsPerSecond:F0} records/s (through the device log, fsync per device)");
        output.WriteLine($"  ingest    {report.IngestSeconds:F2} s  {report.IngestRecordsPerSecond:F0} records/s into DuckDB");
        output.WriteLine($"  re-ingest {report.ReingestSeconds:F2} s  {report.Duplicates} duplicates dropped, nothing added");
        output.WriteLine($"  fit       {report.FitSeconds:F2} s  held-out devices ({report.HeldOutDevices}): mean error {report.HeldOutMeanError:P2}, {report.HeldOutWithin10Percent:P1} of windows within 10%");
        output.WriteLine($"  thermal time constant {report.TimeConstantSeconds:F1} s fitted, {report.TrueTimeConstantSeconds} s true");
    }

    /// <summary>`edgert fleet bench-uplink`: a private Mosquitto on loopback in a temporary directory, the rounds, then everything deleted.</summary>
    public static async Task<UplinkReport> RunUplinkCheckedAsync(int count, int batchSize, int rounds, string mosquitto, CancellationToken cancellation)
    {
        if (count is < 100 or > 10_000_000)
        {
            throw new ArgumentException($"--records must be within [100, 10000000], not {count}");
        }
        if (batchSize is < 1 or > 10_000)
        {
            throw new ArgumentException($"--batch must be within [1, 10000], not {batchSize}");
        }
        if (rounds is < 1 or > 100)
        {
            throw new ArgumentException($"--rounds must be within [1, 100], not {rounds}");
        }
        string root = Path.Combine(Path.GetTempPath(), "edgeruntime-uplink-bench", Guid.NewGuid().ToString("N"));
        try
        {
            using var broker = await MosquittoBroker.StartAsync(Path.Combine(root, "broker"), binary: mosquitto, saveEveryChange: false, cancellationToken: cancellation);
            return await RunUplinkAsync(root, broker, count, batchSize, rounds, cancellation);
        }
        finally
        {
            DeleteQuietly(root);
        }
    }

    public static void WriteText(TextWriter output, UplinkReport report)
    {
        output.WriteLine($"{report.Records} records, {report.BatchSize} per message, {report.Rounds} interleaved rounds, {report.Broker} on loopback (medians)");
        output.WriteLine($"  uplink (read log, publish QoS 1, wait PUBACK, move cursor)  {report.UplinkRecordsPerSecond,10:F0} records/s");
        output.WriteLine($"  bare QoS 1 publish of the same batches (baseline)          {report.RawPublishRecordsPerSecond,10:F0} records/s");
        output.WriteLine($"  uplink / baseline                                         {report.UplinkVsRaw,10:F2}");
        output.WriteLine($"  end to end into DuckDB (uplink -> broker -> fleet ingest)   {report.EndToEndRecordsPerSecond,10:F0} records/s ({report.EndToEndStored} stored)");
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
