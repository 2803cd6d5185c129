using System.CommandLine;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Fleet;
using EdgeRuntime.Governance;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert fleet ingest`: device telemetry logs into an embedded DuckDB database (idempotent by device and
/// sequence number), optionally exported as Parquet; `edgert fleet fit`: governor profiles per device class.
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
        return command;
    }

    private static Command CreateIngest(CliContext context)
    {
        var from = new Option<string[]>("--from") { Description = "Telemetry log directory, or a directory of device log directories (repeatable)", AllowMultipleArgumentsPerToken = true, Required = true };
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var parquet = new Option<string?>("--parquet") { Description = "Also export every record to this Parquet file" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("ingest", "Read device telemetry logs into the fleet database; records already stored are skipped");
        foreach (var option in new Option[] { from, database, parquet, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            var logs = FindLogs(result.GetValue(from)!);
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

    private static Command CreateFit(CliContext context)
    {
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var deviceClass = new Option<string?>("--class") { Description = "Device class to fit (default: every class in the database)" };
        var output = new Option<string>("--out") { Description = "Directory for the fitted profiles (<class>.json)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
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

    public sealed record BenchReport(int Devices, double Hours, long Records, long LogBytes, double WriteSeconds, double WriteRecordsPerSecond,
        double IngestSeconds, double IngestRecordsPerSecond, double ReingestSeconds, long Duplicates, double FitSeconds, int HeldOutDevices,
        double HeldOutMeanError, double HeldOutWithin10Percent, double? TimeConstantSeconds, double TrueTimeConstantSeconds);

    private static Command CreateBench(CliContext context)
    {
        var devices = new Option<int>("--devices") { Description = "Synthetic devices", DefaultValueFactory = _ => 1000 };
        var hours = new Option<double>("--hours") { Description = "Hours of telemetry per device (a sample and a summary every 10 s)", DefaultValueFactory = _ => 1 };
        var work = new Option<string?>("--work") { Description = "Directory for the logs and database (default: a temporary one, deleted afterwards)" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
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
                var report = await RunBench(root, count, h, cancellation);
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

    private static async Task<BenchReport> RunBench(string root, int devices, double hours, CancellationToken cancellation)
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
        return new BenchReport(devices, hours, records, bytes, writeSeconds, records / writeSeconds, ingest.Seconds, ingest.RecordsPerSecond,
            reingest.Seconds, reingest.Duplicates, fitSeconds, heldOut.Count, errors.Count > 0 ? errors.Average() : double.NaN,
            errors.Count > 0 ? errors.Count(e => e <= 0.1) / (double)errors.Count : double.NaN, fitted.TimeConstantSeconds, SyntheticFleet.TimeConstantSeconds);
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
