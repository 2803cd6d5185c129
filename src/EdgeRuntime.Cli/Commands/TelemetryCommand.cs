using System.CommandLine;
using System.Text.Json;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Simulation;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert telemetry verify DIR`: reads every segment of a device telemetry log and reports intact records and
/// what was lost (exit code 1 when anything was); `telemetry export DIR`: writes the intact records as JSON lines.
/// </summary>
internal static class TelemetryCommand
{
    public sealed record VerifyReport(string Directory, int Segments, long Records, long TotalBytes, long BytesLost, long CorruptBytes,
        long TornTailBytes, int CorruptBlocks, long UndecodableRecords, long? FirstSequence, long? LastSequence, bool Clean);

    public static Command Create(CliContext context)
    {
        var command = new Command("telemetry", "Check or export a device telemetry log");
        command.Subcommands.Add(CreateVerify(context));
        command.Subcommands.Add(CreateExport(context));
        return command;
    }

    private static Command CreateVerify(CliContext context)
    {
        var directory = new Argument<string>("DIR") { Description = "Telemetry log directory (segment files *.tlog)" };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("verify", "Read every record of a telemetry log; report records read, bytes lost and corrupt blocks (exit 1 if anything was lost)");
        command.Arguments.Add(directory);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            string path = result.GetValue(directory)!;
            var report = ToReport(path, Read(path, null));
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(context.Out, report);
            }
            return report.Clean ? 0 : 1;
        });
        return command;
    }

    private static Command CreateExport(CliContext context)
    {
        var directory = new Argument<string>("DIR") { Description = "Telemetry log directory (segment files *.tlog)" };
        var output = new Option<string?>("--out") { Description = "JSON-lines file for the records (default: standard output, with the summary on standard error)" };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON" };
        var command = new Command("export", "Write the intact records of a telemetry log as JSON lines, one record per line");
        command.Arguments.Add(directory);
        command.Options.Add(output);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            string path = result.GetValue(directory)!;
            string? file = result.GetValue(output);
            TelemetryReadReport read;
            TextWriter summary = context.Out;
            if (file is null)
            {
                read = Read(path, record => context.Out.WriteLine(JsonSerializer.Serialize(record, LineOptions)));
                summary = context.Error;
            }
            else
            {
                using var writer = new StreamWriter(file);
                read = Read(path, record => writer.WriteLine(JsonSerializer.Serialize(record, LineOptions)));
            }
            var report = ToReport(path, read);
            if (result.GetValue(json))
            {
                summary.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(summary, report);
                if (file is not null)
                {
                    summary.WriteLine($"{report.Records} records written to {file}");
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>The clock the simulation starts from (its virtual time), so switch times and windows line up.</summary>
    private static readonly DateTimeOffset SimulationStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Writes the adaptive policy's run of a simulation through the real telemetry log, as the board would have:
    /// a sensor sample and an inference summary per trace window, and every switch with the governor's reason.
    /// </summary>
    /// <remarks>The simulated device is named after the log directory, so several runs make a fleet.</remarks>
    internal static long WriteSimulation(SimulationReport report, string directory)
    {
        string deviceId = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)));
        var options = new TelemetryLogOptions { Directory = directory, DeviceId = deviceId, DeviceClass = report.Board };
        options.Validate();
        var records = new List<TelemetryRecord>();
        if (report.Traces.TryGetValue(AdaptiveSimulation.AdaptivePolicy, out var trace))
        {
            double previous = 0;
            foreach (var point in trace)
            {
                long at = (SimulationStart + TimeSpan.FromSeconds(point.Seconds)).ToUnixTimeMilliseconds();
                double window = point.Seconds - previous;
                previous = point.Seconds;
                records.Add(Stamp(TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = point.Celsius, Unit = "°C" }), at));
                records.Add(Stamp(TelemetryRecord.For(new SensorSample { Name = "cpu_mhz", Value = point.FrequencyMhz, Unit = "MHz" }), at));
                if (window > 0 && point.WindowP95Ms > 0)
                {
                    records.Add(Stamp(TelemetryRecord.For(new InferenceSummary
                    {
                        Variant = point.Variant, WindowSeconds = window, Count = (long)Math.Round(report.RatePerSecond * window),
                        P95Ms = point.WindowP95Ms, FrequencyMhz = point.FrequencyMhz, Celsius = point.Celsius,
                    }), at));
                }
            }
        }
        foreach (var decision in report.AdaptiveSwitches)
        {
            records.Add(Stamp(TelemetryRecord.For(new SwitchEvent
            {
                From = decision.Previous, To = decision.Variant, Reason = decision.Reason.ToString(), Detail = decision.Detail, Celsius = decision.TemperatureCelsius,
            }), decision.At.ToUnixTimeMilliseconds()));
        }
        records.Sort((a, b) => a.UnixTimeMilliseconds.CompareTo(b.UnixTimeMilliseconds));
        return WriteAll(options, records).GetAwaiter().GetResult();
    }

    private static TelemetryRecord Stamp(TelemetryRecord record, long unixMilliseconds)
    {
        record.UnixTimeMilliseconds = unixMilliseconds;
        return record;
    }

    private static async Task<long> WriteAll(TelemetryLogOptions options, List<TelemetryRecord> records)
    {
        await using var log = TelemetryLog.Open(options);
        foreach (var record in records)
        {
            // A real device drops when the queue is full; replaying a finished run can afford to wait instead.
            if (!log.TryWrite(record))
            {
                await log.FlushAsync();
                if (!log.TryWrite(record))
                {
                    throw new IOException($"telemetry log in '{options.Directory}' does not accept records");
                }
            }
        }
        if (!await log.FlushAsync())
        {
            throw new IOException($"writing the telemetry log in '{options.Directory}' failed ({log.WriteErrors} write errors)");
        }
        return log.Written;
    }

    private static readonly JsonSerializerOptions LineOptions = new(ReportJson.Options) { WriteIndented = false, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private static TelemetryReadReport Read(string directory, Action<TelemetryRecord>? onRecord)
    {
        if (!Directory.Exists(directory))
        {
            throw new CliError($"telemetry log directory '{directory}' does not exist");
        }
        return TelemetryLogReader.ReadDirectory(directory, onRecord);
    }

    private static VerifyReport ToReport(string directory, TelemetryReadReport r) => new(directory, r.Segments, r.Records, r.TotalBytes, r.BytesLost,
        r.CorruptBytes, r.TornTailBytes, r.CorruptBlocks, r.UndecodableRecords, r.FirstSequence, r.LastSequence, r.Clean);

    private static void Print(TextWriter output, VerifyReport report)
    {
        output.WriteLine($"{report.Directory}: {report.Segments} segments, {report.TotalBytes} bytes");
        output.WriteLine($"  records read     {report.Records} (sequence {report.FirstSequence?.ToString() ?? "-"} to {report.LastSequence?.ToString() ?? "-"})");
        output.WriteLine($"  bytes lost       {report.BytesLost} (corrupt {report.CorruptBytes}, torn tail {report.TornTailBytes})");
        output.WriteLine($"  corrupt blocks   {report.CorruptBlocks}");
        output.WriteLine($"  undecodable      {report.UndecodableRecords}");
        output.WriteLine(report.Clean ? "  clean" : "  damaged: the records above were recovered, the bytes lost were not");
    }
}
