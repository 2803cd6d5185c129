using System.CommandLine;
using EdgeRuntime.Compression.Pipelines;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert bench-prune`: pruned models timed against their parent in one run (interleaved rounds, medians of
/// the per-round ratios), or the generated CNN kinds pruned with and without channel rounding and timed the same way.
/// </summary>
internal static class BenchPruneCommand
{
    /// <param name="Ratio">Median of the per-round ratios to the parent.</param>
    /// <param name="FastestRatio">Fastest round against the parent's fastest (other load only adds time).</param>
    public sealed record Row(string Name, string Model, double Milliseconds, double Ratio, double FastestRatio, long? Macs, double? MacRatio);

    public sealed record Report(string Machine, string InstructionSets, int Threads, string Shapes, int Rounds, IReadOnlyList<Row> Rows);

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
        foreach (var option in new Option[] { generated, size, ratio, roundTo, shapes, rounds, roundMs, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            if (result.GetValue(rounds) < 1 || result.GetValue(roundMs) is < 0 or double.NaN)
            {
                throw new CliError("--rounds must be at least 1 and --round-ms not negative");
            }
            var timing = new LatencyTableOptions { Rounds = result.GetValue(rounds), RunsPerRound = 5, MinRoundMilliseconds = result.GetValue(roundMs) };
            var given = BenchCommand.ParseShapes(result.GetValue(shapes) ?? []);
            Action<string>? log = result.GetValue(json) ? null : line => context.Error.WriteLine(line);
            var rows = new List<Row>();
            string shapeText;
            if (result.GetValue(generated))
            {
                double fraction = result.GetValue(ratio);
                if (double.IsNaN(fraction) || fraction is <= 0 or >= 1)
                {
                    throw new CliError($"--ratio {fraction}: expected a fraction in (0, 1)");
                }
                int side = result.GetValue(size);
                var alignment = PrunePipeline.ChooseRoundTo(result.GetValue(roundTo), PruneCommand.LatencyCacheDirectory(null), log);
                var shape = new Dictionary<string, long[]> { ["x"] = [1, 3, side, side] };
                shapeText = PruneSpeedCheck.DescribeShapes(shape);
                foreach (string kind in GeneratedCnns.Kinds)
                {
                    OnnxModel parent;
                    try
                    {
                        parent = GeneratedCnns.Create(kind, side);
                    }
                    catch (ArgumentException e)
                    {
                        throw new CliError(e.Message);
                    }
                    var options = new StructuredPruneOptions { Ratio = fraction, Criterion = ImportanceCriterion.L1, Reconstruct = false };
                    var rounded = StructuredPruner.Prune(parent, options with { RoundTo = alignment.Multiple }).Model;
                    var unrounded = StructuredPruner.Prune(parent, options with { RoundTo = 1 }).Model;
                    log?.Invoke($"{kind}: timing fp32, pruned {fraction:P0} rounded to {alignment.Multiple}, and not rounded ...");
                    var measured = LatencyProbe.Compare([parent, rounded, unrounded], timing with { InputShapes = shape });
                    long parentMacs = MacCounter.Count(parent, shape).TotalMacs;
                    rows.Add(new Row(kind, "fp32", Math.Round(measured[0].Milliseconds, 4), 1, 1, parentMacs, 1));
                    rows.Add(Measured(kind, $"pruned {fraction:P0}, round-to {alignment.Multiple}", rounded, measured[1], measured[0], shape, parentMacs));
                    rows.Add(Measured(kind, $"pruned {fraction:P0}, round-to 1", unrounded, measured[2], measured[0], shape, parentMacs));
                }
            }
            else
            {
                var files = result.GetValue(models) ?? [];
                if (files.Length < 2)
                {
                    throw new CliError("give the parent model and at least one pruned model to time against it (or --generated)");
                }
                foreach (var file in files.Where(f => !f.Exists))
                {
                    throw new CliError($"model file '{file.FullName}' does not exist");
                }
                var loaded = files.Select(f => OnnxModel.Load(f.FullName)).ToList();
                var shape = given.Count > 0 ? given : TimingShapes(loaded[0]);
                shapeText = PruneSpeedCheck.DescribeShapes(shape);
                log?.Invoke($"timing {files.Length} models at {shapeText}, {timing.Rounds} interleaved rounds ...");
                var measured = LatencyProbe.Compare(loaded, timing with { InputShapes = shape });
                long? parentMacs = Macs(loaded[0], shape);
                for (int i = 0; i < files.Length; i++)
                {
                    long? macs = Macs(loaded[i], shape);
                    rows.Add(new Row(Path.GetFileNameWithoutExtension(files[i].Name), i == 0 ? "parent" : "pruned", Math.Round(measured[i].Milliseconds, 4),
                        Math.Round(i == 0 ? 1 : measured[i].Fraction, 4), Math.Round(measured[i].MinMilliseconds / measured[0].MinMilliseconds, 4), macs, macs is long m && parentMacs is long p && p > 0 ? Math.Round((double)m / p, 4) : null));
                }
            }
            var machine = MachineInfo.Current();
            var report = new Report(machine.ToString(), string.Join(" ", machine.InstructionSets), machine.IntraOpThreads, shapeText, timing.Rounds, rows);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return 0;
            }
            context.Out.WriteLine($"machine: {report.Machine}");
            context.Out.WriteLine($"ISA: {report.InstructionSets}; {report.Threads} thread(s); {report.Shapes}; {report.Rounds} interleaved rounds, medians; ratio = median of per-round ratios to the parent; fastest = fastest round against the parent's");
            var table = new TextTable("model", "variant", "median ms", "latency ratio", "fastest ratio", "MACs", "MAC ratio");
            foreach (var row in rows)
            {
                table.Add(row.Name, row.Model, row.Milliseconds, row.Ratio, row.FastestRatio, Formatting.Count(row.Macs), row.MacRatio);
            }
            table.WriteTo(context.Out);
            return 0;
        });
        return command;
    }

    private static Row Measured(string kind, string what, OnnxModel model, LatencyMeasurement measured, LatencyMeasurement parent, IReadOnlyDictionary<string, long[]> shape, long parentMacs)
    {
        long macs = MacCounter.Count(model, shape).TotalMacs;
        return new Row(kind, what, Math.Round(measured.Milliseconds, 4), Math.Round(measured.Fraction, 4), Math.Round(measured.MinMilliseconds / parent.MinMilliseconds, 4),
            macs, Math.Round((double)macs / parentMacs, 4));
    }

    private static Dictionary<string, long[]> TimingShapes(OnnxModel model)
    {
        try
        {
            return PruneSpeedCheck.ShapesFor(model, null);
        }
        catch (ArgumentException e)
        {
            throw new CliError($"{e.Message.Replace("give calibration data (--calib) of the shape to time at", "give --shape", StringComparison.Ordinal)}");
        }
    }

    private static long? Macs(OnnxModel model, IReadOnlyDictionary<string, long[]> shape)
    {
        try
        {
            return MacCounter.Count(model, shape.Count > 0 ? shape : null).TotalMacs;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }
}
