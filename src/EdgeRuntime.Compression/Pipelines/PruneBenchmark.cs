using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pipelines;

/// <summary>
/// `edgert bench-prune`: pruned models timed against their parent in one run (interleaved rounds, medians of
/// the per-round ratios), or the generated CNN kinds pruned with and without channel rounding and timed the same way.
/// </summary>
public static class PruneBenchmark
{
    /// <param name="Ratio">Median of the per-round ratios to the parent.</param>
    /// <param name="FastestRatio">Fastest round against the parent's fastest (other load only adds time).</param>
    public sealed record Row(string Name, string Model, double Milliseconds, double Ratio, double FastestRatio, long? Macs, double? MacRatio);

    public sealed record Report(string Machine, string InstructionSets, int Threads, string Shapes, int Rounds, IReadOnlyList<Row> Rows);

    public static LatencyTableOptions Timing(int rounds, double roundMilliseconds)
    {
        if (rounds < 1 || roundMilliseconds is < 0 or double.NaN)
        {
            throw new ArgumentException("--rounds must be at least 1 and --round-ms not negative");
        }
        return new LatencyTableOptions { Rounds = rounds, RunsPerRound = 5, MinRoundMilliseconds = roundMilliseconds };
    }

    /// <summary>Every generated CNN kind, side x side, pruned by <paramref name="fraction"/> with kept channels rounded (the given or probed multiple) and not rounded.</summary>
    public static Report Generated(double fraction, int side, int? roundTo, string latencyCache, LatencyTableOptions timing, Action<string>? log)
    {
        if (double.IsNaN(fraction) || fraction is <= 0 or >= 1)
        {
            throw new ArgumentException($"--ratio {fraction}: expected a fraction in (0, 1)");
        }
        var alignment = PrunePipeline.ChooseRoundTo(roundTo, latencyCache, log);
        var rows = new List<Row>();
        var shape = new Dictionary<string, long[]> { ["x"] = [1, 3, side, side] };
        foreach (string kind in GeneratedCnns.Kinds)
        {
            var parent = GeneratedCnns.Create(kind, side);
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
        return Finish(PruneSpeedCheck.DescribeShapes(shape), timing, rows);
    }

    /// <summary>The parent (first) and the pruned models after it, at the given shapes or the parent's fixed ones.</summary>
    public static Report Models(IReadOnlyList<string> files, IReadOnlyDictionary<string, long[]> given, LatencyTableOptions timing, Action<string>? log)
    {
        if (files.Count < 2)
        {
            throw new ArgumentException("give the parent model and at least one pruned model to time against it (or --generated)");
        }
        foreach (var file in files.Where(f => !File.Exists(f)))
        {
            throw new ArgumentException($"model file '{file}' does not exist");
        }
        var loaded = files.Select(OnnxModel.Load).ToList();
        var shape = given.Count > 0 ? given : TimingShapes(loaded[0]);
        string shapeText = PruneSpeedCheck.DescribeShapes(shape);
        log?.Invoke($"timing {files.Count} models at {shapeText}, {timing.Rounds} interleaved rounds ...");
        var measured = LatencyProbe.Compare(loaded, timing with { InputShapes = shape });
        long? parentMacs = Macs(loaded[0], shape);
        var rows = new List<Row>();
        for (int i = 0; i < files.Count; i++)
        {
            long? macs = Macs(loaded[i], shape);
            rows.Add(new Row(Path.GetFileNameWithoutExtension(files[i]), i == 0 ? "parent" : "pruned", Math.Round(measured[i].Milliseconds, 4),
                Math.Round(i == 0 ? 1 : measured[i].Fraction, 4), Math.Round(measured[i].MinMilliseconds / measured[0].MinMilliseconds, 4), macs, macs is long m && parentMacs is long p && p > 0 ? Math.Round((double)m / p, 4) : null));
        }
        return Finish(shapeText, timing, rows);
    }

    public static void WriteText(TextWriter output, Report report)
    {
        output.WriteLine($"machine: {report.Machine}");
        output.WriteLine($"ISA: {report.InstructionSets}; {report.Threads} thread(s); {report.Shapes}; {report.Rounds} interleaved rounds, medians; ratio = median of per-round ratios to the parent; fastest = fastest round against the parent's");
        var table = new TextTable("model", "variant", "median ms", "latency ratio", "fastest ratio", "MACs", "MAC ratio");
        foreach (var row in report.Rows)
        {
            table.Add(row.Name, row.Model, row.Milliseconds, row.Ratio, row.FastestRatio, Formatting.Count(row.Macs), row.MacRatio);
        }
        table.WriteTo(output);
    }

    private static Report Finish(string shapes, LatencyTableOptions timing, List<Row> rows)
    {
        var machine = MachineInfo.Current();
        return new Report(machine.ToString(), string.Join(" ", machine.InstructionSets), machine.IntraOpThreads, shapes, timing.Rounds, rows);
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
            throw new ArgumentException($"{e.Message.Replace("give calibration data (--calib) of the shape to time at", "give --shape", StringComparison.Ordinal)}");
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
