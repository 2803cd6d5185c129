using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Bench.Durability;
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
        command.Subcommands.Add(CreateCrashBench(context));
        command.Subcommands.Add(CreateCrashWriter());
        return command;
    }

    private static Command CreateCrashBench(CliContext context)
    {
        var kills = new Option<int>("--kills") { Description = "How many times the writer process is killed", DefaultValueFactory = _ => 1000 };
        var maxDelay = new Option<int>("--max-delay-ms") { Description = "Each kill comes up to this many ms after the writer has opened the log", DefaultValueFactory = _ => 150 };
        var seed = new Option<int>("--seed") { Description = "Random seed (kill times, batch sizes)", DefaultValueFactory = _ => 1 };
        var work = new Option<string?>("--dir") { Description = "Log directory (default: a temporary one, deleted afterwards)" };
        var json = CliOutput.Json();
        var command = new Command("crash-bench",
            "Kill a process writing through the telemetry log with SIGKILL again and again, restart it on the same directory, then check " +
            "that every record it was told is durable is there and intact (exit 1 otherwise)");
        foreach (var option in new Option[] { kills, maxDelay, seed, work, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            int count = result.GetValue(kills);
            if (count is < 1 or > 1_000_000)
            {
                throw new CliError($"--kills must be within [1, 1000000], not {count}");
            }
            int delay = result.GetValue(maxDelay);
            if (delay is < 0 or > 60_000)
            {
                throw new CliError($"--max-delay-ms must be within [0, 60000], not {delay}");
            }
            string? given = result.GetValue(work);
            if (given is not null && Directory.Exists(given) && Directory.EnumerateFileSystemEntries(given).Any())
            {
                throw new CliError($"--dir '{given}' is not empty; the crash test needs a log of its own");
            }
            string directory = given ?? Path.Combine(Path.GetTempPath(), "edgeruntime-crash-bench", Guid.NewGuid().ToString("N"));
            bool quiet = result.GetValue(json);
            try
            {
                var report = CrashTest.Run(directory, SelfAsWriter, count, result.GetValue(seed), TimeSpan.FromMilliseconds(delay),
                    done => { if (!quiet && done % 100 == 0) { context.Error.WriteLine($"  {done} kills"); } });
                if (quiet)
                {
                    context.Out.WriteLine(ReportJson.Serialize(report));
                }
                else
                {
                    context.Out.WriteLine($"kills                 {report.Kills} ({report.Seconds:F0} s, {report.Seconds / report.Kills * 1000:F0} ms per start, write and kill)");
                    context.Out.WriteLine($"records acknowledged  {report.RecordsAcknowledged}");
                    context.Out.WriteLine($"records recovered     {report.RecordsRecovered} in {report.Segments} segments");
                    context.Out.WriteLine($"lost acknowledged     {report.LostAcknowledged}");
                    context.Out.WriteLine($"corrupt accepted      {report.CorruptAccepted}");
                    context.Out.WriteLine($"out of order          {report.OutOfOrder}");
                    context.Out.WriteLine($"torn tail bytes       {report.TornTailBytes} (dropped by the reader)");
                    context.Out.WriteLine($"corrupt bytes         {report.CorruptBytes}");
                    foreach (string problem in report.Problems)
                    {
                        context.Out.WriteLine($"problem: {problem}");
                    }
                    context.Out.WriteLine(report.Passed ? "passed" : "FAILED");
                }
                return report.Passed ? 0 : 1;
            }
            finally
            {
                if (given is null)
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
        });
        return command;
    }

    /// <summary>This same program, run as `telemetry crash-writer DIR --seed N`.</summary>
    private static ProcessStartInfo SelfAsWriter(string directory, int seed)
    {
        string host = Environment.ProcessPath ?? throw new CliError("cannot tell which program is running, so cannot start the crash writer");
        var start = new ProcessStartInfo(host);
        // Run as `dotnet edgert.dll`, the host needs the assembly; run through the apphost, it does not.
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            start.ArgumentList.Add(typeof(TelemetryCommand).Assembly.Location);
        }
        foreach (string argument in new[] { "telemetry", "crash-writer", directory, "--seed", seed.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }
        return start;
    }

    private static Command CreateCrashWriter()
    {
        var directory = new Argument<string>("DIR") { Description = "Telemetry log directory" };
        var seed = new Option<int>("--seed") { Description = "Random seed (batch sizes)", DefaultValueFactory = _ => 1 };
        var command = new Command("crash-writer", "Append records until killed, printing what the log acknowledges durable (the process crash-bench kills)")
        {
            Hidden = true,
        };
        command.Arguments.Add(directory);
        command.Options.Add(seed);
        command.SetAction(async (result, cancellation) =>
        {
            await CrashWriter.RunAsync(result.GetValue(directory)!, result.GetValue(seed), Console.Out, cancellation);
            return 0;
        });
        return command;
    }

    private static Command CreateVerify(CliContext context)
    {
        var directory = new Argument<string>("DIR") { Description = "Telemetry log directory (segment files *.tlog)" };
        var json = CliOutput.Json();
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
        var json = CliOutput.Json("Print the summary as JSON");
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
