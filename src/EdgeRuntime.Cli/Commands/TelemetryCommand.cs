using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Bench.Durability;
using EdgeRuntime.Fleet;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert telemetry verify DIR`: reads every segment of a device telemetry log and reports intact records and
/// what was lost (exit code 1 when anything was); `telemetry export DIR`: writes the intact records as JSON lines.
/// </summary>
internal static class TelemetryCommand
{
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
        command.AddOptions(kills, maxDelay, seed, work, json);
        command.SetAction(result =>
        {
            bool quiet = result.GetValue(json);
            var report = CrashTest.RunChecked(result.GetValue(work), SelfAsWriter, result.GetValue(kills), result.GetValue(seed), result.GetValue(maxDelay),
                done => { if (!quiet && done % 100 == 0) { context.Error.WriteLine($"  {done} kills"); } });
            context.Write(quiet, report, CrashTest.WriteText);
            return report.Passed ? 0 : 1;
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
            var report = TelemetryLogCheck.Verify(result.GetValue(directory)!);
            context.Write(result.GetValue(json), report, (writer, r) => r.WriteText(writer));
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
            TelemetryLogReport report;
            if (file is null)
            {
                report = TelemetryLogCheck.Export(path, context.Out);
            }
            else
            {
                using var writer = new StreamWriter(file);
                report = TelemetryLogCheck.Export(path, writer);
            }
            // Records on standard output leave the summary to standard error.
            CliOutput.Write(file is null ? context.Error : context.Out, result.GetValue(json), report, (summary, r) =>
            {
                r.WriteText(summary);
                if (file is not null)
                {
                    summary.WriteLine($"{r.Records} records written to {file}");
                }
            });
            return 0;
        });
        return command;
    }
}
