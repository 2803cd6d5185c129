using System.CommandLine;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Compression.Pipelines;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert bench-prune`: pruned models against their parent, or generated CNNs rounded vs not (see <see cref="PruneBenchmark"/>).</summary>
internal static class BenchPruneCommand
{
    public static Command Create(CliContext context)
    {
        var models = new Argument<FileInfo[]>("models") { Description = "The parent .onnx, then the pruned ones to time against it (not with --generated)", Arity = ArgumentArity.ZeroOrMore };
        var generated = new Option<bool>("--generated") { Description = "Generate plain, residual, depthwise-separable + SE and FPN CNNs, prune each with and without channel rounding, and time them" };
        var size = new Option<int>("--size") { Description = "With --generated: input size (square)", DefaultValueFactory = _ => 96 };
        var ratio = new Option<double>("--ratio") { Description = "With --generated: fraction of every group's channels removed", DefaultValueFactory = _ => 0.3 };
        var roundTo = new Option<int?>("--round-to") { Description = "With --generated: the channel multiple (default: the channel probe's for this device)" };
        var shapes = new Option<string[]>("--shape") { Description = "Input shapes, e.g. --shape x=1x3x48x192 (repeatable; needed for symbolic dimensions)", AllowMultipleArgumentsPerToken = true };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds", DefaultValueFactory = _ => 15 };
        var roundMs = new Option<double>("--round-ms") { Description = "Least time per model and round (more runs for fast models)", DefaultValueFactory = _ => 100 };
        var json = CliOutput.Json();
        var command = new Command("bench-prune", "Time pruned models against their parent in one run (interleaved rounds), or generated CNNs pruned with and without channel rounding");
        command.Arguments.Add(models);
        command.AddOptions(generated, size, ratio, roundTo, shapes, rounds, roundMs, json);
        command.SetAction(result =>
        {
            var timing = PruneBenchmark.Timing(result.GetValue(rounds), result.GetValue(roundMs));
            var given = BenchText.ParseShapes(result.GetValue(shapes) ?? []);
            Action<string>? log = result.GetValue(json) ? null : context.Error.WriteLine;
            var report = result.GetValue(generated)
                ? PruneBenchmark.Generated(result.GetValue(ratio), result.GetValue(size), result.GetValue(roundTo), PruneCommand.LatencyCacheDirectory(null), timing, log)
                : PruneBenchmark.Models([.. (result.GetValue(models) ?? []).Select(f => f.FullName)], given, timing, log);
            context.Write(result.GetValue(json), report, PruneBenchmark.WriteText);
            return 0;
        });
        return command;
    }
}
