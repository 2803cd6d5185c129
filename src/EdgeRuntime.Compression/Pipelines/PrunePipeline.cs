using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pipelines;

/// <summary>What `edgert prune` was asked for: the method, its knobs, the optional distillation, speed check and bundle.</summary>
public sealed record PruneRequest(string Input, string Output, string Method)
{
    public double Ratio { get; init; } = 0.5;
    public IReadOnlyList<string> Calibration { get; init; } = [];
    public int? CalibrationLimit { get; init; }
    public string? Criterion { get; init; }
    public string Scope { get; init; } = "global";
    /// <summary>Structured: refit layers to the teacher's outputs (on unless --no-reconstruct).</summary>
    public bool StructuredReconstruct { get; init; } = true;
    /// <summary>Unstructured and block: also refit the remaining weights.</summary>
    public bool Reconstruct { get; init; }
    public bool ReestimateBatchNorm { get; init; }
    public bool DistillHead { get; init; }
    public double HeadTemperature { get; init; } = 4.0;
    public int DistillEpochs { get; init; }
    public double DistillRate { get; init; } = new GradientDistillOptions().LearningRate;
    public double DistillTemperature { get; init; } = 1.0;
    public IReadOnlyList<string> DistillCalibration { get; init; } = [];
    public int? DistillLimit { get; init; }
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public string? AddTo { get; init; }
    public string? VariantId { get; init; }
    public double? TargetMacs { get; init; }
    public double? TargetLatency { get; init; }
    public double? TargetChannels { get; init; }
    public double[]? CandidateRatios { get; init; }
    /// <summary>Where latency tables and the channel probe's result are cached.</summary>
    public required string LatencyCache { get; init; }
    public int? RoundTo { get; init; }
    public double FasterMargin { get; init; } = PruneSpeedCheck.DefaultMargin;
    public bool AllowSlower { get; init; }
}

public sealed record PruneReport(string Input, string Output, string Method, double Ratio, long InputBytes, long OutputBytes,
    long? InputMacs, long? OutputMacs, double Sparsity, double ChannelsKept, IReadOnlyList<LayerPruneReport> Layers,
    IReadOnlyList<string> Applied, IReadOnlyList<string> LeftAlone, IReadOnlyList<string> Warnings)
{
    public int? RoundTo { get; init; }
    public double? ParentMilliseconds { get; init; }
    public double? PrunedMilliseconds { get; init; }
    public double? LatencyRatio { get; init; }
    public long PeakRssBytes { get; init; }
}

/// <summary>
/// Prune (unstructured, 1x8 block or structured, with per-group ratios searched to a budget), optionally distil,
/// check that a channel-pruned model is faster than its parent, save, and add to a bundle.
/// </summary>
public static class PrunePipeline
{
    /// <param name="log">Progress lines (null: quiet).</param>
    /// <param name="notice">Lines the user must see even when the report is JSON (the speed check, warnings).</param>
    public static PruneReport Run(PruneRequest request, Action<string>? log, Action<string> notice)
    {
        if (!File.Exists(request.Input))
        {
            throw new ArgumentException($"model file '{request.Input}' does not exist");
        }
        string methodName = request.Method.ToLowerInvariant();
        double fraction = request.Ratio;
        if (double.IsNaN(fraction) || fraction < 0 || fraction >= 1)
        {
            throw new ArgumentException($"--ratio {fraction}: expected a fraction in [0, 1)");
        }
        if (request.DistillEpochs < 0)
        {
            throw new ArgumentException($"--distill-epochs {request.DistillEpochs}: expected 0 (off) or more passes");
        }
        var model = OnnxModel.Load(request.Input);
        var data = CalibrationSources.Load(request.Input, request.Calibration, request.CalibrationLimit ?? DefaultLimit(request.Calibration));
        // Read before pruning, so a bad file is reported before minutes of work, not after.
        var distillData = request.DistillCalibration.Count > 0
            ? CalibrationSources.Load(request.Input, request.DistillCalibration, request.DistillLimit ?? DefaultLimit(request.DistillCalibration))
            : data;
        double margin = request.FasterMargin;
        if (double.IsNaN(margin) || margin < 0 || margin >= 1)
        {
            throw new ArgumentException($"--faster-margin {margin}: expected a fraction in [0, 1)");
        }
        var searchTarget = new SearchTarget(request.TargetMacs, request.TargetLatency, request.TargetChannels, request.LatencyCache) { Candidates = request.CandidateRatios };
        if (methodName == "structured")
        {
            // Before the channel probe: a bad budget is reported at once.
            CheckTarget(searchTarget, data);
        }
        var timingShapes = methodName == "structured" || data is not null ? TimingShapes(model, data) : new Dictionary<string, long[]>();
        var alignment = methodName == "structured" ? ChooseRoundTo(request.RoundTo, request.LatencyCache, log) : null;
        string[] excluded = [.. request.Exclude];
        PruneResult pruned;
        try
        {
            pruned = methodName switch
            {
                "magnitude" or "second-order" => UnstructuredPruner.Prune(model, new UnstructuredPruneOptions
                {
                    Ratio = fraction,
                    Criterion = ParseCriterion(request.Criterion ?? (methodName == "magnitude" ? "l1" : "second-order")),
                    Scope = ParseScope(request.Scope),
                    SecondOrderUpdate = methodName == "second-order",
                    Reconstruct = request.Reconstruct,
                    Exclude = excluded,
                }, data, log),
                "block" => BlockMagnitudePruner.Prune(model, new BlockPruneOptions
                {
                    Ratio = fraction,
                    Scope = ParseScope(request.Scope),
                    Exclude = excluded,
                    Reconstruct = request.Reconstruct,
                }, data, log),
                "structured" => PruneStructured(model, new StructuredPruneOptions
                {
                    Ratio = fraction,
                    Criterion = ParseCriterion(request.Criterion ?? "second-order"),
                    Reconstruct = request.StructuredReconstruct,
                    ReestimateBatchNorm = request.ReestimateBatchNorm,
                    Exclude = excluded,
                    RoundTo = alignment!.Multiple,
                }, data, searchTarget with { InputShapes = timingShapes }, log),
                _ => throw new ArgumentException($"--method '{methodName}': expected magnitude, second-order, block or structured"),
            };
        }
        catch (ValidationException e)
        {
            throw new ArgumentException(e.Message);
        }
        var applied = pruned.Applied.ToList();
        if (request.DistillHead)
        {
            if (data is null)
            {
                throw new ArgumentException("--distill-head needs calibration data (--calib)");
            }
            applied.Add(HeadDistiller.Distill(pruned.Model, model, data, request.HeadTemperature));
        }
        var warnings = pruned.Warnings.ToList();
        if (request.DistillEpochs is > 0 and int epochs)
        {
            if (distillData is null)
            {
                throw new ArgumentException("--distill-epochs needs samples (--calib or --distill-calib)");
            }
            var distill = new GradientDistillOptions
            {
                Epochs = epochs,
                LearningRate = request.DistillRate,
                Temperature = request.DistillTemperature is > 0 and double t ? t : null,
                KeepZeros = methodName != "structured",
            };
            try
            {
                distill.Validate();
                applied.Add(GradientDistiller.Distill(pruned.Model, model, distillData, distill, log).Describe());
            }
            catch (ValidationException e)
            {
                throw new ArgumentException(e.Message);
            }
            catch (Exception e) when (e is NotSupportedException or ArgumentException)
            {
                // The pruned model is still good; say why it was not trained rather than lose it.
                warnings.Add($"gradient distillation not applied: {e.Message}");
            }
        }
        // Peak memory of the pruning itself, before the timing sessions open.
        long peakRss = PeakMemory.ReadPeakBytes();
        PruneSpeedCheck? speed = null;
        if (methodName == "structured")
        {
            applied.Insert(0, $"kept channels rounded to multiples of {alignment!.Multiple}: {alignment.Reason}");
            log?.Invoke($"timing the pruned model against its parent at {PruneSpeedCheck.DescribeShapes(timingShapes)}, {MachineInfo.Current()} ...");
            speed = PruneSpeedCheck.Measure(model, pruned.Model, timingShapes, margin);
            notice(speed.Describe());
            if (!speed.Faster && !request.AllowSlower)
            {
                throw new ArgumentException($"not written: {speed.Describe()}. The pruned model is not faster than its parent by the margin of {margin:P0}; "
                    + "round kept channels to the device's multiple (--round-to), prune more, or pass --allow-slower to write it anyway");
            }
            applied.Add(speed.Describe());
        }
        pruned.Model.Save(request.Output);
        foreach (string warning in warnings)
        {
            notice($"warning: {warning}");
        }
        if (request.AddTo is string bundle)
        {
            BundleBuilder.Add(bundle, new VariantSource(request.VariantId ?? $"pruned-{methodName}-{Math.Round(fraction * 100)}", request.Output)
            {
                ChannelsKept = Math.Round(pruned.ChannelsKept, 4),
                Applied = applied,
            }, inputShapes: timingShapes);
        }
        long inBytes = new FileInfo(request.Input).Length, outBytes = new FileInfo(request.Output).Length;
        return new PruneReport(request.Input, request.Output, methodName, fraction, inBytes, outBytes,
            Macs(model, timingShapes), Macs(pruned.Model, timingShapes), Math.Round(pruned.Sparsity, 4), Math.Round(pruned.ChannelsKept, 4), pruned.Layers, applied, pruned.LeftAlone, warnings)
        {
            RoundTo = alignment?.Multiple,
            ParentMilliseconds = speed?.ParentMilliseconds,
            PrunedMilliseconds = speed?.PrunedMilliseconds,
            LatencyRatio = speed?.Ratio,
            PeakRssBytes = peakRss,
        };
    }

    /// <summary>The report as `edgert prune` prints it: one summary line, the layer table, what was applied and left alone.</summary>
    public static void WriteText(TextWriter output, PruneReport report)
    {
        output.WriteLine($"wrote {report.Output}: {Formatting.Bytes(report.OutputBytes)} ({(double)report.OutputBytes / report.InputBytes:P1} of {Formatting.Bytes(report.InputBytes)}), "
            + $"sparsity {report.Sparsity:P1}, channels kept {report.ChannelsKept:P1}, MACs {report.OutputMacs:N0} of {report.InputMacs:N0}"
            + (report.PeakRssBytes > 0 ? $", peak RSS {Formatting.Bytes(report.PeakRssBytes)}" : ""));
        var table = new TextTable("layer", "op", "outputs", "columns", "sparsity");
        foreach (var layer in report.Layers)
        {
            table.Add(layer.Layer, layer.OpType, $"{layer.OutputsKept}/{layer.Outputs}", $"{layer.ColumnsKept}/{layer.Columns}", $"{layer.Sparsity:P1}");
        }
        table.WriteTo(output);
        foreach (string line in report.Applied)
        {
            output.WriteLine($"  {line}");
        }
        foreach (string line in report.LeftAlone)
        {
            output.WriteLine($"  left alone: {line}");
        }
    }

    /// <summary>The given multiple, or the one the channel probe measured on this device (cached next to the latency tables).</summary>
    public static ChannelAlignment ChooseRoundTo(int? given, string latencyCache, Action<string>? log)
    {
        ChannelAlignment alignment;
        if (given is int multiple)
        {
            if (multiple is < 1 or > 1024)
            {
                throw new ArgumentException($"--round-to {multiple}: expected a channel multiple from 1 (no rounding) to 1024");
            }
            var machine = MachineInfo.Current();
            alignment = new ChannelAlignment(machine.ToString(), "", string.Join(" ", machine.InstructionSets), multiple,
                multiple == 1 ? "rounding disabled by --round-to 1" : $"--round-to {multiple}", [], []);
        }
        else
        {
            alignment = ChannelAlignment.LoadOrMeasure(latencyCache, log: log);
        }
        log?.Invoke($"round-to {alignment.Multiple} ({alignment.InstructionSets}): {alignment.Reason}");
        return alignment;
    }

    private static int? DefaultLimit(IReadOnlyList<string> specs) => specs is [var single] && DatasetCatalog.IsKnown(single) ? 4096 : null;

    /// <summary>MACs at the shapes the model is timed at (a symbolic dimension must not count as 1).</summary>
    private static long? Macs(OnnxModel model, IReadOnlyDictionary<string, long[]> shapes)
    {
        try
        {
            return MacCounter.Count(model, shapes.Count > 0 ? shapes : null).TotalMacs;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    private sealed record SearchTarget(double? Macs, double? Latency, double? Channels, string LatencyCache)
    {
        public double[]? Candidates { get; init; }
        public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();

        public int Count => (Macs is null ? 0 : 1) + (Latency is null ? 0 : 1) + (Channels is null ? 0 : 1);
        public string Option => Macs is not null ? "--target-macs" : Latency is not null ? "--target-latency" : "--target-channels";
    }

    private static void CheckTarget(SearchTarget target, CalibrationData? data)
    {
        if (target.Count > 1)
        {
            throw new ArgumentException("--target-macs, --target-latency and --target-channels: give one budget, not several");
        }
        if (target.Count == 1 && data is null)
        {
            throw new ArgumentException($"{target.Option} measures each group's sensitivity: it needs --calib");
        }
        if (target.Latency is double latency && (double.IsNaN(latency) || latency <= 0 || latency >= 1))
        {
            throw new ArgumentException($"--target-latency {latency}: expected a fraction of the unpruned model's latency in (0, 1)");
        }
    }

    /// <summary>One ratio for every group, or per-group ratios searched to meet a MAC or latency budget.</summary>
    private static PruneResult PruneStructured(OnnxModel model, StructuredPruneOptions options, CalibrationData? data, SearchTarget target, Action<string>? log)
    {
        CheckTarget(target, data);
        if (target.Count == 0)
        {
            return StructuredPruner.Prune(model, options, data, log);
        }
        var search = new RatioSearchOptions();
        if (target.Candidates is { Length: > 0 } ratios)
        {
            if (ratios.Any(r => double.IsNaN(r) || r <= 0 || r >= 1))
            {
                throw new ArgumentException($"--candidate-ratios {string.Join(" ", ratios)}: each must be a fraction in (0, 1)");
            }
            search = search with { Candidates = [.. ratios.Distinct().Order()] };
        }
        if (target.Latency is double latency)
        {
            var table = PruneLatencyTable.LoadOrMeasure(model, search.Candidates, target.LatencyCache,
                new LatencyTableOptions { RoundTo = options.RoundTo, InputShapes = target.InputShapes }, log);
            search = search with { LatencyTarget = latency, LatencyTable = table };
            log?.Invoke($"searching per-group ratios for {latency:P0} of the latency ({table.BaselineMilliseconds:F3} ms unpruned, batch {table.BatchSize}) ...");
        }
        else if (target.Channels is double channels)
        {
            search = search with { ChannelTarget = channels };
            log?.Invoke($"searching per-group ratios that keep {channels:P1} of the channels ...");
        }
        else
        {
            search = search with { MacTarget = target.Macs!.Value };
            log?.Invoke($"searching per-group ratios for {target.Macs:P0} of the MACs ...");
        }
        var found = PruneRatioSearch.Search(model, data!, search, options, log);
        log?.Invoke($"chosen: {string.Join(", ", found.GroupRatios.Select(p => $"{p.Key}={p.Value:P0}"))} (predicted {found.PredictedMacs:N0} of {found.OriginalMacs:N0} MACs"
            + (found.PredictedLatency is double p ? $", {p:P1} of the latency)" : ")"));
        var result = StructuredPruner.Prune(model, options with { Ratio = 0, GroupRatios = found.GroupRatios }, data, log);
        if (target.Latency is double wanted)
        {
            var measured = LatencyProbe.Compare([model, result.Model], new LatencyTableOptions { InputShapes = target.InputShapes });
            string line = $"per-group ratios searched for {wanted:P0} of the latency on this device (measured latency table, sensitivity by perturbation, greedy): "
                + $"predicted {found.PredictedLatency:P1}, measured {measured[1].Fraction:P1} ({measured[1].Milliseconds:F3} ms vs {measured[0].Milliseconds:F3} ms, interleaved rounds, median)";
            return result with { Applied = [line, .. result.Applied] };
        }
        string budget = target.Channels is double kept ? $"{kept:P1} of the channels kept" : $"{target.Macs:P0} of the MACs";
        return result with { Applied = [$"per-group ratios searched for {budget} (sensitivity by perturbation, greedy)", .. result.Applied] };
    }

    /// <summary>The shapes the pruned model is timed at: one calibration sample's, else the model's own fixed shapes.</summary>
    private static Dictionary<string, long[]> TimingShapes(OnnxModel model, CalibrationData? data) => PruneSpeedCheck.ShapesFor(model, data);

    private static SparsityScope ParseScope(string scope) => scope.ToLowerInvariant() switch
    {
        "global" => SparsityScope.Global,
        "per-layer" => SparsityScope.PerLayer,
        string other => throw new ArgumentException($"--scope '{other}': expected global or per-layer"),
    };

    private static ImportanceCriterion ParseCriterion(string name) => name.ToLowerInvariant() switch
    {
        "l1" => ImportanceCriterion.L1,
        "l2" => ImportanceCriterion.L2,
        "second-order" or "hessian" => ImportanceCriterion.SecondOrder,
        _ => throw new ArgumentException($"--criterion '{name}': expected l1, l2 or second-order"),
    };
}
