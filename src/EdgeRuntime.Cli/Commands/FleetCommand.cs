using System.CommandLine;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bench.FleetLoad;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert fleet ingest`: device telemetry logs into an embedded DuckDB database (idempotent by device and
/// sequence number), optionally exported as Parquet, or live from an MQTT broker; `edgert fleet fit`: governor profiles
/// per device class; `edgert fleet publish`: fitted profiles to the devices over MQTT; `edgert fleet bench-uplink`: the
/// device uplink's throughput against a private Mosquitto.
/// </summary>
internal static class FleetCommand
{
    private const string DefaultDatabase = "fleet.duckdb";

    public sealed record FitEntry(string DeviceClass, string File, int Devices, string? DataWindow, double? FitError, double? TimeConstantSeconds,
        IReadOnlyDictionary<string, VariantCost> Variants);

    public static Command Create(CliContext context)
    {
        var command = new Command("fleet", "Ingest device telemetry and fit device profiles from it");
        command.Subcommands.Add(CreateIngest(context));
        command.Subcommands.Add(CreateFit(context));
        command.Subcommands.Add(CreateBench(context));
        command.Subcommands.Add(FleetSimulateCommand.Create(context));
        command.Subcommands.Add(CreatePublish(context));
        command.Subcommands.Add(CreateBenchUplink(context));
        return command;
    }

    private static Command CreateIngest(CliContext context)
    {
        var from = new Option<string[]>("--from") { Description = "Telemetry log directory, or a directory of device log directories (repeatable)", AllowMultipleArgumentsPerToken = true };
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var parquet = new Option<string?>("--parquet") { Description = "Also export every record to this Parquet file" };
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-ingest", required: false);
        var untilIdle = new Option<double?>("--until-idle") { Description = "With --mqtt: stop once nothing arrived for this many seconds (default: run until Ctrl+C)" };
        var command = new Command("ingest", "Read device telemetry (log directories, or live from an MQTT broker) into the fleet database; records already stored are skipped");
        foreach (var option in new Option[] { from, database, parquet, json, untilIdle })
        {
            command.Options.Add(option);
        }
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            var broker = mqtt.Build(result);
            string[]? roots = result.GetValue(from);
            if (broker is not null)
            {
                if (roots is { Length: > 0 })
                {
                    throw new CliError("give either --from (log directories) or --mqtt (a broker), not both");
                }
                return await IngestFromBroker(context, broker, result.GetValue(mqtt.TopicPrefix)!, result.GetValue(database)!, result.GetValue(parquet),
                    result.GetValue(untilIdle), result.GetValue(json), cancellation);
            }
            if (result.GetValue(untilIdle) is not null)
            {
                throw new CliError("--until-idle goes with --mqtt");
            }
            if (roots is not { Length: > 0 })
            {
                throw new CliError("give --from DIR (device telemetry logs) or --mqtt HOST:PORT (a broker)");
            }
            var logs = FindLogs(roots);
            using var store = FleetStore.Open(result.GetValue(database)!);
            var report = store.IngestLogs(logs);
            string? parquetFile = result.GetValue(parquet);
            if (parquetFile is not null)
            {
                store.ExportParquet(parquetFile);
            }
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(new { report.Logs, report.RecordsRead, report.RecordsInserted, report.Duplicates, report.BytesLost,
                    report.CorruptBlocks, report.Seconds, report.RecordsPerSecond, TotalRecords = store.Count(), Parquet = parquetFile }));
            }
            else
            {
                context.Out.WriteLine($"{report.Logs} logs: {report.RecordsRead} records read, {report.RecordsInserted} new, {report.Duplicates} already stored; " +
                    $"{report.BytesLost} bytes lost in {report.CorruptBlocks} corrupt blocks");
                context.Out.WriteLine($"{report.Seconds:F2} s, {report.RecordsPerSecond:F0} records/s; {store.Count()} records in {result.GetValue(database)}");
                if (parquetFile is not null)
                {
                    context.Out.WriteLine($"parquet written to {parquetFile}");
                }
            }
            return 0;
        });
        return command;
    }

    private static async Task<int> IngestFromBroker(CliContext context, MqttBrokerOptions broker, string prefix, string databasePath, string? parquetFile,
        double? untilIdle, bool json, CancellationToken cancellation)
    {
        if (untilIdle is double seconds && !(seconds > 0 && seconds <= 86_400))
        {
            throw new CliError($"--until-idle must be within (0, 86400] seconds, not {seconds}");
        }
        using var store = FleetStore.Open(databasePath);
        MqttIngestReport report;
        await using (var ingest = new MqttIngest(store, broker, prefix))
        {
            await ingest.StartAsync(cancellation);
            if (!json)
            {
                context.Out.WriteLine($"ingesting {UplinkTopics.AllTelemetry(prefix)} from {broker.Host}:{broker.Port} as session '{broker.ClientId}' into {databasePath}; " +
                    (untilIdle is double s ? $"stops after {s} s without messages" : "Ctrl+C stops"));
            }
            await ingest.RunAsync(untilIdle is double idle ? TimeSpan.FromSeconds(idle) : null, cancellation);
            report = ingest.Report();
            if (report.Connects == 0)
            {
                throw new CliError($"could not connect to the broker at {broker.Host}:{broker.Port}: {ingest.Session.LastError ?? "no answer"}");
            }
        }
        if (parquetFile is not null)
        {
            store.ExportParquet(parquetFile);
        }
        if (json)
        {
            context.Out.WriteLine(ReportJson.Serialize(new { report.Messages, report.RecordsReceived, report.RecordsInserted, report.Duplicates, report.RejectedMessages,
                report.Devices, report.ReplaysRequested, report.Seconds, report.RecordsPerSecond, TotalRecords = store.Count(), Parquet = parquetFile }));
        }
        else
        {
            context.Out.WriteLine($"{report.Messages} messages from {report.Devices} devices: {report.RecordsReceived} records, {report.RecordsInserted} new, " +
                $"{report.Duplicates} duplicates dropped, {report.RejectedMessages} messages rejected, {report.ReplaysRequested} resends asked for");
            context.Out.WriteLine($"{report.Seconds:F2} s; {store.Count()} records in {databasePath}");
            if (parquetFile is not null)
            {
                context.Out.WriteLine($"parquet written to {parquetFile}");
            }
        }
        return 0;
    }

    private static Command CreatePublish(CliContext context)
    {
        var mqtt = new MqttCliOptions("edgert-fleet-publish", required: true);
        var profiles = new Option<string>("--profiles") { Description = "Directory of fitted profiles (<class>.json, from 'edgert fleet fit')", Required = true };
        var json = CliOutput.Json("Print what was sent as JSON");
        var command = new Command("publish", "Send each fitted profile to its device class as a retained MQTT message with its SHA-256; devices hot-reload it");
        command.Options.Add(profiles);
        command.Options.Add(json);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            var broker = mqtt.Build(result)!;
            IReadOnlyList<(string File, string Text, GovernorProfile Profile)> loaded;
            try
            {
                loaded = ProfilePublisher.Load(result.GetValue(profiles)!);
            }
            catch (ArgumentException e)
            {
                throw new CliError(e.Message);
            }
            await using var session = new MqttSession(broker, TimeSpan.Zero);
            session.Start();
            try
            {
                await session.WaitConnectedAsync(cancellation).WaitAsync(TimeSpan.FromSeconds(30), cancellation);
            }
            catch (TimeoutException)
            {
                throw new CliError($"could not connect to the broker at {broker.Host}:{broker.Port} within 30 s: {session.LastError ?? "no answer"}");
            }
            IReadOnlyList<PublishedProfile> sent;
            try
            {
                sent = await ProfilePublisher.PublishAsync(session, result.GetValue(mqtt.TopicPrefix)!, loaded, cancellation);
            }
            catch (MqttSessionException e)
            {
                throw new CliError(e.Message);
            }
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(sent));
            }
            else
            {
                foreach (var profile in sent)
                {
                    context.Out.WriteLine($"{profile.DeviceClass} version {profile.Version} -> {profile.Topic} (retained, sha256 {profile.Sha256[..16]}...) from {profile.File}");
                }
            }
            return 0;
        });
        return command;
    }

    private static Command CreateFit(CliContext context)
    {
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var deviceClass = new Option<string?>("--class") { Description = "Device class to fit (default: every class in the database)" };
        var output = new Option<string>("--out") { Description = "Directory for the fitted profiles (<class>.json)", Required = true };
        var json = CliOutput.Json();
        var command = new Command("fit", "Fit governor profiles per device class (latency vs clock and temperature, energy, thermal time constant)");
        foreach (var option in new Option[] { database, deviceClass, output, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            string path = result.GetValue(database)!;
            if (!File.Exists(path))
            {
                throw new CliError($"fleet database '{path}' does not exist; run 'edgert fleet ingest' first");
            }
            using var store = FleetStore.Open(path);
            var fitter = new ProfileFitter(store);
            var classes = result.GetValue(deviceClass) is string one ? [one] : fitter.DeviceClasses();
            if (classes.Count == 0)
            {
                throw new CliError($"fleet database '{path}' holds no telemetry");
            }
            string directory = result.GetValue(output)!;
            Directory.CreateDirectory(directory);
            var entries = new List<FitEntry>();
            foreach (string name in classes)
            {
                var fitted = fitter.Fit(name);
                string file = Path.Combine(directory, name + ".json");
                string text = ProfileJson.Serialize(fitted.Profile);
                ProfileJson.Parse(text, file);
                File.WriteAllText(file, text);
                var p = fitted.Profile.Provenance;
                entries.Add(new FitEntry(name, file, p.Devices ?? 0, p.DataWindow, p.FitError, fitted.TimeConstantSeconds, fitted.Profile.Variants));
            }
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(entries));
            }
            else
            {
                foreach (var entry in entries)
                {
                    context.Out.WriteLine($"{entry.DeviceClass}: {entry.Devices} devices, fit error {entry.FitError:P1}, thermal time constant {(entry.TimeConstantSeconds is double t ? $"{t:F0} s" : "kept")} -> {entry.File}");
                    var table = new TextTable("variant", "p50 ms", "p95 ms", "busy W", "mJ/inference");
                    foreach (var (id, cost) in entry.Variants)
                    {
                        table.Add(id, Math.Round(cost.LatencyP50Ms, 4), Math.Round(cost.LatencyP95Ms, 4), cost.BusyPowerWatts is double w ? Math.Round(w, 3) : null,
                            cost.EnergyMillijoules is double e ? Math.Round(e, 4) : null);
                    }
                    table.WriteTo(context.Out);
                }
            }
            return 0;
        });
        return command;
    }

    private static Command CreateBench(CliContext context)
    {
        var devices = new Option<int>("--devices") { Description = "Synthetic devices", DefaultValueFactory = _ => 1000 };
        var hours = new Option<double>("--hours") { Description = "Hours of telemetry per device (a sample and a summary every 10 s)", DefaultValueFactory = _ => 1 };
        var work = new Option<string?>("--work") { Description = "Directory for the logs and database (default: a temporary one, deleted afterwards)" };
        var json = CliOutput.Json();
        var command = new Command("bench", "Write synthetic device logs, ingest them twice (the second time all duplicates), fit, and check the fit on held-out devices");
        foreach (var option in new Option[] { devices, hours, work, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            int count = result.GetValue(devices);
            double h = result.GetValue(hours);
            if (count < 5 || count > 100_000)
            {
                throw new CliError($"--devices must be within [5, 100000], not {count}");
            }
            if (!(h > 0) || h > 24 * 30)
            {
                throw new CliError($"--hours must be within (0, 720], not {h}");
            }
            string root = result.GetValue(work) ?? Path.Combine(Path.GetTempPath(), "edgeruntime-fleet-bench", Guid.NewGuid().ToString("N"));
            try
            {
                var report = await FleetBenchmark.RunAsync(root, count, h, cancellation);
                if (result.GetValue(json))
                {
                    context.Out.WriteLine(ReportJson.Serialize(report));
                }
                else
                {
                    context.Out.WriteLine($"{report.Devices} devices x {report.Hours} h: {report.Records} records, {report.LogBytes / 1e6:F1} MB of logs");
                    context.Out.WriteLine($"  write     {report.WriteSeconds:F2} s  {report.WriteRecordsPerSecond:F0} records/s (through the device log, fsync per device)");
                    context.Out.WriteLine($"  ingest    {report.IngestSeconds:F2} s  {report.IngestRecordsPerSecond:F0} records/s into DuckDB");
                    context.Out.WriteLine($"  re-ingest {report.ReingestSeconds:F2} s  {report.Duplicates} duplicates dropped, nothing added");
                    context.Out.WriteLine($"  fit       {report.FitSeconds:F2} s  held-out devices ({report.HeldOutDevices}): mean error {report.HeldOutMeanError:P2}, {report.HeldOutWithin10Percent:P1} of windows within 10%");
                    context.Out.WriteLine($"  thermal time constant {report.TimeConstantSeconds:F1} s fitted, {report.TrueTimeConstantSeconds} s true");
                }
                return 0;
            }
            finally
            {
                if (result.GetValue(work) is null)
                {
                    try
                    {
                        Directory.Delete(root, recursive: true);
                    }
                    catch (IOException)
                    {
                    }
                }
            }
        });
        return command;
    }


    private static Command CreateBenchUplink(CliContext context)
    {
        var records = new Option<int>("--records") { Description = "Records in the device log", DefaultValueFactory = _ => 50_000 };
        var batch = new Option<int>("--batch") { Description = "Records per MQTT message", DefaultValueFactory = _ => 100 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds of uplink and bare publishing", DefaultValueFactory = _ => 3 };
        var mosquitto = new Option<string>("--mosquitto") { Description = "The broker binary started for the run", DefaultValueFactory = _ => MosquittoBroker.DefaultBinary };
        var json = CliOutput.Json();
        var command = new Command("bench-uplink", "Throughput of the telemetry uplink (log -> QoS 1 -> broker acknowledgement -> cursor) against bare QoS 1 publishing of the same batches, on a private Mosquitto on loopback; then once end to end into DuckDB");
        foreach (var option in new Option[] { records, batch, rounds, mosquitto, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            int count = result.GetValue(records), batchSize = result.GetValue(batch), roundCount = result.GetValue(rounds);
            if (count is < 100 or > 10_000_000)
            {
                throw new CliError($"--records must be within [100, 10000000], not {count}");
            }
            if (batchSize is < 1 or > 10_000)
            {
                throw new CliError($"--batch must be within [1, 10000], not {batchSize}");
            }
            if (roundCount is < 1 or > 100)
            {
                throw new CliError($"--rounds must be within [1, 100], not {roundCount}");
            }
            string root = Path.Combine(Path.GetTempPath(), "edgeruntime-uplink-bench", Guid.NewGuid().ToString("N"));
            try
            {
                MosquittoBroker broker;
                try
                {
                    broker = await MosquittoBroker.StartAsync(Path.Combine(root, "broker"), binary: result.GetValue(mosquitto), saveEveryChange: false, cancellationToken: cancellation);
                }
                catch (Exception e) when (e is FileNotFoundException or IOException)
                {
                    throw new CliError(e.Message);
                }
                using (broker)
                {
                    var report = await FleetBenchmark.RunUplinkAsync(root, broker, count, batchSize, roundCount, cancellation);
                    if (result.GetValue(json))
                    {
                        context.Out.WriteLine(ReportJson.Serialize(report));
                    }
                    else
                    {
                        context.Out.WriteLine($"{report.Records} records, {report.BatchSize} per message, {report.Rounds} interleaved rounds, {report.Broker} on loopback (medians)");
                        context.Out.WriteLine($"  uplink (read log, publish QoS 1, wait PUBACK, move cursor)  {report.UplinkRecordsPerSecond,10:F0} records/s");
                        context.Out.WriteLine($"  bare QoS 1 publish of the same batches (baseline)          {report.RawPublishRecordsPerSecond,10:F0} records/s");
                        context.Out.WriteLine($"  uplink / baseline                                         {report.UplinkVsRaw,10:F2}");
                        context.Out.WriteLine($"  end to end into DuckDB (uplink -> broker -> fleet ingest)   {report.EndToEndRecordsPerSecond,10:F0} records/s ({report.EndToEndStored} stored)");
                    }
                }
                return 0;
            }
            finally
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        });
        return command;
    }

    private static List<string> FindLogs(IEnumerable<string> roots)
    {
        var logs = new List<string>();
        foreach (string root in roots)
        {
            if (!Directory.Exists(root))
            {
                throw new CliError($"--from '{root}' is not a directory");
            }
            if (SegmentFiles.List(root).Count > 0)
            {
                logs.Add(root);
                continue;
            }
            var devices = Directory.GetDirectories(root).Where(d => SegmentFiles.List(d).Count > 0).Order(StringComparer.Ordinal).ToList();
            if (devices.Count == 0)
            {
                throw new CliError($"--from '{root}' holds no telemetry segments (*{SegmentFiles.Extension}), directly or one level down");
            }
            logs.AddRange(devices);
        }
        return logs;
    }
}
