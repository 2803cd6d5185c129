using System.CommandLine;
using EdgeRuntime.Bench.Energy;
using EdgeRuntime.Evaluation.Benchmarking;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-knobs` and `bench-memory`: the daemon's CPU per inference per threads/spin setting, and its RSS per resident variants.</summary>
internal static class BenchKnobsCommand
{
    public static Command Create(CliContext context)
    {
        var bundle = new Argument<string>("bundle") { Description = "Bundle directory (or .onnx file) the daemon serves" };
        var rate = new Option<double>("--rate") { Description = "Requests per second", DefaultValueFactory = _ => 10 };
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds per setting", DefaultValueFactory = _ => 20 };
        var settle = new Option<double>("--settle") { Description = "Seconds at the rate before measuring (the governor settles and the JIT finishes tiering up)", DefaultValueFactory = _ => 30 };
        var knobs = new Option<string[]>("--knobs") { Description = "Settings to measure (default: default 1 all all,spin); 'default' lets the governor choose, 'slo=MS' too with that p95 SLO hint", AllowMultipleArgumentsPerToken = true };
        var shape = new Option<string[]>("--shape") { Description = "NAME=DIMS for symbolic input dimensions, e.g. input_ids=1x128", AllowMultipleArgumentsPerToken = true };
        var record = new Option<string?>("--record") { Description = "Device class to record each explicit setting's latency and CPU per inference under, in the bundle's manifest (costs.CLASS.knobs; `simulate --threads-model` uses them)" };
        var variant = new Option<string?>("--variant") { Description = "Serve and measure this variant of the bundle alone (--record then writes its own costs)" };
        var json = CliOutput.Json();
        var command = new Command("bench-knobs", "Start the daemon per threads/spin setting, send requests at a fixed rate, and report its CPU-seconds per inference against single-thread compute measured in this run");
        command.Arguments.Add(bundle);
        command.AddOptions(rate, seconds, settle, knobs, shape, record, variant, json);
        command.SetAction(async (result, cancellation) =>
        {
            string?[] settings = result.GetValue(knobs) is { Length: > 0 } given ? [.. given.Select(k => k == "default" ? null : k)] : [null, "1", "all", "all,spin"];
            var report = await KnobBenchmark.RunAsync(new KnobBenchmark.Settings(
                result.GetValue(bundle)!, result.GetValue(rate), TimeSpan.FromSeconds(result.GetValue(seconds)), settings, BenchText.ParseShapes(result.GetValue(shape) ?? []),
                Daemon(), Path.Combine(Path.GetTempPath(), $"edgert-bench-knobs-{Environment.ProcessId}"), TimeSpan.FromSeconds(result.GetValue(settle)))
                {
                    RecordAs = result.GetValue(record),
                    Variant = result.GetValue(variant),
                },
                result.GetValue(json) ? null : context.Error, cancellation);
            context.Write(result.GetValue(json), report, (output, r) => r.WriteText(output));
            return report.Settings.Any(s => s.Failures > 0) ? 1 : 0;
        });
        return command;
    }

    public static Command CreateMemory(CliContext context)
    {
        var variants = new Argument<string[]>("variant") { Description = "ID=MODEL.onnx, the reference first", Arity = ArgumentArity.OneOrMore };
        var counts = new Option<int[]>("--counts") { Description = "Resident variant counts (default: 1 3 5)", AllowMultipleArgumentsPerToken = true };
        var json = CliOutput.Json();
        var command = new Command("bench-memory", "Daemon RSS with 1, 3 and 5 resident variants, with the CPU memory arena on and off");
        command.Arguments.Add(variants);
        command.AddOptions(counts, json);
        command.SetAction(async (result, cancellation) =>
        {
            var list = new List<(string, string)>();
            foreach (string text in result.GetValue(variants)!)
            {
                int eq = text.IndexOf('=');
                if (eq <= 0 || !File.Exists(text[(eq + 1)..]))
                {
                    throw new CliError($"variant '{text}' must be ID=MODEL.onnx with an existing file");
                }
                list.Add((text[..eq], Path.GetFullPath(text[(eq + 1)..])));
            }
            int[] wanted = result.GetValue(counts) is { Length: > 0 } c ? c : [.. new[] { 1, 3, 5 }.Where(n => n <= list.Count)];
            string work = Path.Combine(Path.GetTempPath(), $"edgert-bench-memory-{Environment.ProcessId}");
            try
            {
                var report = await MemoryBenchmark.RunAsync(new MemoryBenchmark.Settings(list, wanted,
                    [("default", []), ("arena off", ["--no-arena"]), ("shared arena", ["--shared-arena"]), ("standby only", ["--standby"])], Daemon(), work), result.GetValue(json) ? null : context.Error, cancellation);
                context.Write(result.GetValue(json), report, (output, r) => r.WriteText(output));
                return 0;
            }
            finally
            {
                if (Directory.Exists(work))
                {
                    Directory.Delete(work, recursive: true);
                }
            }
        });
        return command;
    }

    private static KnobBenchmark.DaemonCommand Daemon()
    {
        var (self, prefix) = SelfInvocation.Current();
        return new KnobBenchmark.DaemonCommand(self, prefix);
    }
}
