using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// A pruned model timed against its parent in one run (interleaved rounds, the same input shapes and thread
/// count): pruning exists to make a variant faster, so one that is not is refused. Other load on the machine
/// only adds time, so the decision takes each model's fastest round (the median of the per-round ratios is
/// printed too); a first verdict of "not faster" is measured once more, with twice the rounds, before it stands.
/// </summary>
/// <param name="Ratio">The pruned model's fastest round divided by the parent's.</param>
/// <param name="MedianRatio">Median over rounds of the pruned model's time divided by the parent's in the same round.</param>
public sealed record PruneSpeedCheck(double ParentMilliseconds, double PrunedMilliseconds, double Ratio, double MedianRatio, double Margin, string Shapes, int Threads, string InstructionSets)
{
    /// <summary>The pruned model must run in at most 95% of its parent's time.</summary>
    public const double DefaultMargin = 0.05;

    public bool Faster => Ratio <= 1 - Margin;

    public string Describe() =>
        $"measured {PrunedMilliseconds:F3} ms pruned vs {ParentMilliseconds:F3} ms parent = {Ratio:F3}x "
        + $"(needs <= {1 - Margin:F3}x; fastest of interleaved rounds, median of per-round ratios {MedianRatio:F3}x; {Shapes}, {Threads} thread(s), {InstructionSets})";

    public static PruneSpeedCheck Measure(OnnxModel parent, OnnxModel pruned, IReadOnlyDictionary<string, long[]> shapes, double margin = DefaultMargin, LatencyTableOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(pruned);
        if (double.IsNaN(margin) || margin is < 0 or >= 1)
        {
            throw new ArgumentException($"the speed margin must be a fraction in [0, 1), got {margin}");
        }
        options = (options ?? new LatencyTableOptions { Rounds = 9, MinRoundMilliseconds = 50 }) with { InputShapes = shapes };
        var check = Once(parent, pruned, shapes, margin, options);
        if (!check.Faster)
        {
            // A burst of load during one model's rounds must not decide: confirm with twice the rounds.
            check = Once(parent, pruned, shapes, margin, options with { Rounds = options.Rounds * 2 });
        }
        return check;
    }

    private static PruneSpeedCheck Once(OnnxModel parent, OnnxModel pruned, IReadOnlyDictionary<string, long[]> shapes, double margin, LatencyTableOptions options)
    {
        var measured = LatencyProbe.Compare([parent, pruned], options);
        var machine = MachineInfo.Current();
        return new PruneSpeedCheck(measured[0].MinMilliseconds, measured[1].MinMilliseconds, measured[1].MinMilliseconds / measured[0].MinMilliseconds, measured[1].Fraction,
            margin, DescribeShapes(shapes), machine.IntraOpThreads, string.Join(" ", machine.InstructionSets));
    }

    public static string DescribeShapes(IReadOnlyDictionary<string, long[]> shapes) =>
        shapes.Count == 0 ? "the model's declared shapes, batch 1" : string.Join(", ", shapes.Select(p => $"{p.Key} {string.Join("x", p.Value)}"));

    /// <summary>
    /// Input shapes to time a model at: one calibration sample's (batch 1) when there is data; otherwise the
    /// declared shapes, which must then be fixed apart from the batch (symbolic spatial dimensions are named in the error).
    /// </summary>
    public static Dictionary<string, long[]> ShapesFor(OnnxModel model, CalibrationData? data)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (data is not null)
        {
            var first = data.Batches().FirstOrDefault()
                ?? throw new ArgumentException($"the calibration data ({data.Description}) has no samples");
            return first.ToDictionary(t => t.Name, t => (long[])[1, .. t.Shape.Skip(1)]);
        }
        var initializers = model.Graph.Initializers.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var unsized = new List<string>();
        foreach (var input in model.Graph.Inputs.Where(i => !initializers.Contains(i.Name)))
        {
            var shape = input.GetShape();
            if (shape is null)
            {
                unsized.Add($"{input.Name} (shape not declared)");
                continue;
            }
            unsized.AddRange(shape.Skip(1).Select((d, axis) => (d, axis)).Where(p => p.d.Value is null)
                .Select(p => $"{input.Name} axis {p.axis + 1} ('{(p.d.Symbol ?? "?")}')"));
        }
        if (unsized.Count > 0)
        {
            throw new ArgumentException($"cannot time the model: symbolic dimension(s) {string.Join(", ", unsized)} have no size; give calibration data (--calib) of the shape to time at");
        }
        return [];
    }
}
