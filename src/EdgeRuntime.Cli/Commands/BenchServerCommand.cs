using System.CommandLine;
using EdgeRuntime.Bench.ServerLoad;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-server`: daemon throughput and overhead against in-process calls, in the same run.</summary>
internal static class BenchServerCommand
{
    public static Command Create(CliContext context)
    {
        var clients = new Option<int>("--clients") { Description = "Concurrent clients (and in-process threads for the baseline)", DefaultValueFactory = _ => 8 };
        var workers = new Option<int?>("--workers") { Description = "Daemon inference workers (default: one per core)" };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds of every mode", DefaultValueFactory = _ => 3 };
        var requests = new Option<int>("--requests") { Description = "Sequential requests per round and mode", DefaultValueFactory = _ => 2000 };
        var seconds = new Option<double>("--seconds") { Description = "Length of each concurrent phase", DefaultValueFactory = _ => 3 };
        var switchEvery = new Option<double>("--switch-every-ms") { Description = "Variant switch period during the switching phase", DefaultValueFactory = _ => 50 };
        var json = CliOutput.Json();
        var command = new Command("bench-server", "Load-test edgertd against the fixture model: throughput and p50/p99 overhead vs in-process calls, and a variant switch under load");
        command.AddOptions(clients, workers, rounds, requests, seconds, switchEvery, json);
        command.SetAction(async (result, cancellation) =>
        {
            int clientCount = result.GetValue(clients);
            if (clientCount is < 1 or > 256 || result.GetValue(rounds) < 1 || result.GetValue(requests) < 1 || !(result.GetValue(seconds) > 0) || !(result.GetValue(switchEvery) > 0))
            {
                throw new CliError("--clients must be 1..256, and --rounds, --requests, --seconds and --switch-every-ms positive");
            }
            bool asJson = result.GetValue(json);
            var settings = new ServerBenchmark.Settings(
                clientCount, result.GetValue(workers) ?? Environment.ProcessorCount, result.GetValue(rounds), result.GetValue(requests),
                TimeSpan.FromSeconds(result.GetValue(seconds)), TimeSpan.FromMilliseconds(result.GetValue(switchEvery)),
                Path.Combine(Path.GetTempPath(), $"edgert-bench-server-{Environment.ProcessId}"));
            var report = await ServerBenchmark.RunAsync(settings, asJson ? null : context.Error);
            context.Write(asJson, report, (output, r) => r.WriteText(output));
            return report.Switching.Failures == 0 ? 0 : 1;
        });
        return command;
    }
}
