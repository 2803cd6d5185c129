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
            if (asJson)
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return report.Switching.Failures == 0 ? 0 : 1;
            }
            context.Out.WriteLine($"machine: {report.Machine}, {report.Cores} cores; {report.Clients} clients, {report.Workers} workers, {report.Rounds} rounds");
            var table = new TextTable("mode", "requests", "failed", "req/s", "mean us", "p50 us", "p95 us", "p99 us");
            foreach (var mode in report.Modes)
            {
                table.Add(mode.Mode, mode.Requests, mode.Failures, Math.Round(mode.Throughput), mode.MeanUs, mode.P50Us, mode.P95Us, mode.P99Us);
            }
            table.WriteTo(context.Out);
            context.Out.WriteLine($"overhead of the daemon hop, 1 client: p50 {report.SequentialOverheadP50Us:0.#} us, p99 {report.SequentialOverheadP99Us:0.#} us (the run inside the daemon: p50 {report.DaemonRunP50Us:0.#} us)");
            context.Out.WriteLine($"under {report.Clients} clients: p50 {report.ConcurrentOverheadP50Us:0.#} us, p99 {report.ConcurrentOverheadP99Us:0.#} us, throughput {report.ConcurrentThroughputRatio:0.###}x of in-process");
            var s = report.Switching;
            context.Out.WriteLine($"variant switch under load: {s.Switches} switches, {s.Requests} requests, {s.Failures} failed ({s.Throughput:0} req/s)");
            foreach (string failure in s.FirstFailures)
            {
                context.Out.WriteLine("  " + failure);
            }
            return s.Failures == 0 ? 0 : 1;
        });
        return command;
    }
}
