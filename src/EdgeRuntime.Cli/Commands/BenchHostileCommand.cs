using System.CommandLine;
using EdgeRuntime.Bench.ServerLoad;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Evaluation.Reporting;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-hostile`: status and inference latency while idle connections and half-sent frames hold the daemon.</summary>
internal static class BenchHostileCommand
{
    public static Command Create(CliContext context)
    {
        var idle = new Option<int>("--idle") { Description = "Connections that send nothing", DefaultValueFactory = _ => 200 };
        var half = new Option<int>("--half-sent") { Description = "Connections that send part of a frame", DefaultValueFactory = _ => 20 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds (idle, then under attack)", DefaultValueFactory = _ => 3 };
        var requests = new Option<int>("--requests") { Description = "Sequential inferences per phase and round", DefaultValueFactory = _ => 1000 };
        var json = new Option<bool>("--json") { Description = "Print the report as JSON" };
        var command = new Command("bench-hostile", "Open idle connections and half-sent frames against a daemon; time `edgert status` from another process and inference p99 against the idle figure");
        foreach (var option in new Option[] { idle, half, rounds, requests, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            if (result.GetValue(idle) < 0 || result.GetValue(half) < 0 || result.GetValue(rounds) < 1 || result.GetValue(requests) < 10)
            {
                throw new CliError("--idle and --half-sent must be at least 0, --rounds at least 1, --requests at least 10");
            }
            // This very program, run again as `edgert status`: a separate process, as an operator would.
            string self = Environment.ProcessPath!;
            string[] status = Path.GetFileNameWithoutExtension(self) == "dotnet"
                ? [self, typeof(BenchHostileCommand).Assembly.Location, "status"]
                : [self, "status"];
            var settings = new HostileLoadBenchmark.Settings(result.GetValue(idle), result.GetValue(half), result.GetValue(rounds), result.GetValue(requests),
                Environment.ProcessorCount, status, Path.Combine(Path.GetTempPath(), $"edgert-bench-hostile-{Environment.ProcessId}"));
            bool asJson = result.GetValue(json);
            var report = await HostileLoadBenchmark.RunAsync(settings, asJson ? null : context.Error);
            bool holds = report.Configurations.All(c => c.Holds);
            if (asJson)
            {
                context.Out.WriteLine(ReportJson.Serialize(new { machine = MachineInfo.Current().ToString(), report }));
                return holds ? 0 : 1;
            }
            context.Out.WriteLine($"machine: {MachineInfo.Current()}; {report.Workers} workers; {report.IdleConnections} idle connections + {report.HalfSentFrames} half-sent frames");
            var table = new TextTable("configuration", "idle p99 us", "attack p99 us", "ratio", "status process ms (worst)", "held", "refused/round", "goal");
            foreach (var c in report.Configurations)
            {
                table.Add(c.Configuration, Math.Round(c.IdleP99Us), Math.Round(c.AttackP99Us), Math.Round(c.P99Ratio, 2), Math.Round(c.WorstStatusProcessMs),
                    c.Rounds.Max(r => r.HostileHeld), c.Rounds.Max(r => r.Refused), c.Holds ? "holds" : "MISSED");
            }
            table.WriteTo(context.Out);
            foreach (var c in report.Configurations.Where(c => c.StatusFailure is not null))
            {
                context.Out.WriteLine($"status failed ({c.Configuration}): {c.StatusFailure}");
            }
            return holds ? 0 : 1;
        });
        return command;
    }
}
