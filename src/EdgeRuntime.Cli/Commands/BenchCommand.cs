using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Evaluation.Benchmarking;

namespace EdgeRuntime.Cli.Commands;

internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("model") { Description = "An .onnx file or a bundle directory" };
        var runs = new Option<int>("--runs") { Description = "Measured runs per variant", DefaultValueFactory = _ => 200 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured runs after the first", DefaultValueFactory = _ => 10 };
        var maxSeconds = new Option<double>("--max-seconds") { Description = "Time cap on the measured runs of one variant", DefaultValueFactory = _ => 20 };
        var batch = new Option<int>("--batch") { Description = "Size of a symbolic batch dimension", DefaultValueFactory = _ => 1 };
        var cooldown = new Option<double>("--cooldown") { Description = "Seconds to pause between variants", DefaultValueFactory = _ => 0 };
        var variants = new Option<string[]>("--variant") { Description = "Benchmark only these variants (repeatable)", AllowMultipleArgumentsPerToken = true };
        var shapes = new Option<string[]>("--shape") { Description = "Input shape, e.g. --shape input=1x3x224x224 (repeatable)", AllowMultipleArgumentsPerToken = true };
        var overhead = new Option<bool>("--overhead") { Description = "Measure the runtime's overhead against a raw InferenceSession.Run of the same model" };
        var rounds = new Option<int>("--rounds") { Description = "With --overhead: interleaved rounds", DefaultValueFactory = _ => 20 };
        var record = new Option<string?>("--record") { Description = "Write the measured latency and memory into the bundle's manifest under this device class" };
        var json = CliOutput.Json();
        var command = new Command("bench", "Benchmark every variant: session create, first run, warm-up, then min/p50/p95/p99 and peak memory");
        command.Arguments.Add(path);
        command.AddOptions(runs, warmup, maxSeconds, batch, cooldown, variants, shapes, overhead, rounds, record, json);
        command.SetAction(async (result, cancellation) =>
        {
            string target = result.GetValue(path)!;
            if (result.GetValue(overhead))
            {
                if (Directory.Exists(target))
                {
                    var bundle = ModelBundle.Open(target);
                    target = bundle[bundle.Manifest.ReferenceVariant].ModelPath;
                }
                var report = await OverheadBenchmark.RunAsync(target, result.GetValue(batch), result.GetValue(rounds), runsPerRound: Math.Max(1, result.GetValue(runs)));
                context.Write(result.GetValue(json), report, BenchText.WriteText);
                return 0;
            }
            var options = new BenchOptions
            {
                Runs = result.GetValue(runs),
                WarmupRuns = result.GetValue(warmup),
                MaxDuration = TimeSpan.FromSeconds(result.GetValue(maxSeconds)),
                BatchSize = result.GetValue(batch),
                Cooldown = TimeSpan.FromSeconds(result.GetValue(cooldown)),
                Variants = result.GetValue(variants) is { Length: > 0 } chosen ? chosen : null,
                InputShapes = BenchText.ParseShapes(result.GetValue(shapes) ?? []),
            };
            string? deviceClass = result.GetValue(record);
            if (deviceClass is not null && !Directory.Exists(target))
            {
                throw new CliError("--record needs a bundle directory: a single .onnx file has no manifest to record into");
            }
            var bench = Benchmarker.Run(ModelBundle.OpenPath(target), options);
            if (deviceClass is not null)
            {
                CostRecorder.Record(target, deviceClass, bench);
            }
            context.Write(result.GetValue(json), bench, BenchText.WriteText);
            return bench.Variants.Any(v => v.Error is not null) ? 1 : 0;
        });
        return command;
    }
}
