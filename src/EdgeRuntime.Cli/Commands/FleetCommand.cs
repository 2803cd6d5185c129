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
