using System.CommandLine;
using EdgeRuntime.Bench.ServerLoad;

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
        var json = CliOutput.Json();
        var command = new Command("bench-hostile", "Open idle connections and half-sent frames against a daemon; time `edgert status` from another process and inference p99 against the idle figure");
        command.AddOptions(idle, half, rounds, requests, json);
        command.SetAction(async (result, cancellation) =>
        {
            if (result.GetValue(idle) < 0 || result.GetValue(half) < 0 || result.GetValue(rounds) < 1 || result.GetValue(requests) < 10)
            {
                throw new CliError("--idle and --half-sent must be at least 0, --rounds at least 1, --requests at least 10");
            }
            var (self, prefix) = SelfInvocation.Current();
            var settings = new HostileLoadBenchmark.Settings(result.GetValue(idle), result.GetValue(half), result.GetValue(rounds), result.GetValue(requests),
                Environment.ProcessorCount, [self, .. prefix, "status"], Path.Combine(Path.GetTempPath(), $"edgert-bench-hostile-{Environment.ProcessId}"));
            var report = await HostileLoadBenchmark.RunAsync(settings, result.GetValue(json) ? null : context.Error);
            context.Write(result.GetValue(json), report, (output, r) => r.WriteText(output));
            return report.Holds ? 0 : 1;
        });
        return command;
    }
}
