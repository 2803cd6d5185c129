using System.CommandLine;
using System.ComponentModel.DataAnnotations;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert prune`: unstructured (magnitude, second-order), 1x8 block or structured channel pruning, with reconstruction.</summary>
internal static class PruneCommand
{
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

    public static Command Create(CliContext context)
    {
        var input = new Argument<FileInfo>("model") { Description = "The fp32 .onnx model" };
        var method = new Option<string>("--method") { Description = "magnitude | second-order | block (1x8 blocks, for SparseBlockMatMul) | structured", Required = true };
        var ratio = new Option<double>("--ratio") { Description = "Fraction of weights (unstructured) or of each group's channels (structured) to remove", DefaultValueFactory = _ => 0.5 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the pruned model", Required = true };
        var calib = new Option<string[]>("--calib") { Description = "Calibration samples: X.npy, NAME=X.npy per input, or a dataset name (fashion-mnist)", AllowMultipleArgumentsPerToken = true };
        var calibLimit = new Option<int?>("--calib-limit") { Description = "Use only the first N calibration samples (default: all of a file, 4096 of a dataset)" };
        var criterion = new Option<string?>("--criterion") { Description = "l1 | l2 | second-order (default: l1 for magnitude, second-order otherwise)" };
        var scope = new Option<string>("--scope") { Description = "Unstructured: global (one threshold) | per-layer", DefaultValueFactory = _ => "global" };
        var noReconstruct = new Option<bool>("--no-reconstruct") { Description = "Skip the least-squares refit of layers to the teacher's outputs" };
        var reconstruct = new Option<bool>("--reconstruct") { Description = "Unstructured and block: also refit the remaining weights to the teacher's outputs" };
        var batchNorm = new Option<bool>("--bn-reestimate") { Description = "Structured: re-estimate BatchNormalization statistics against the teacher's (helps without reconstruction; after it, it costs accuracy)" };
        var distillHead = new Option<bool>("--distill-head") { Description = "Finally refit the classifier head to the teacher's softened outputs" };
        var temperature = new Option<double>("--temperature") { Description = "Temperature of --distill-head", DefaultValueFactory = _ => 4.0 };
        var distillEpochs = new Option<int>("--distill-epochs") { Description = "Finally train the pruned weights by gradient descent to the teacher's logits on the calibration data, for this many passes (0: off)" };
        var distillRate = new Option<double>("--distill-rate") { Description = "Adam step size of --distill-epochs (cosine decay)", DefaultValueFactory = _ => new GradientDistillOptions().LearningRate };
        var distillTemperature = new Option<double>("--distill-temperature") { Description = "With --distill-epochs, under a final Softmax: match the teacher's softmax softened by this temperature (0: match the logits by squared error)", DefaultValueFactory = _ => 1.0 };
        var distillCalib = new Option<string[]>("--distill-calib") { Description = "Samples for --distill-epochs, when they should differ from --calib (distillation gains from many more samples than reconstruction needs)", AllowMultipleArgumentsPerToken = true };
        var distillLimit = new Option<int?>("--distill-limit") { Description = "Use only the first N samples of --distill-calib" };
        var exclude = new Option<string[]>("--exclude") { Description = "Layer names or op types to leave alone (repeatable)", AllowMultipleArgumentsPerToken = true };
        var addTo = new Option<string?>("--add-to") { Description = "Also add the result to this bundle, with what was applied" };
        var id = new Option<string?>("--id") { Description = "Variant id for --add-to (default: pruned-<method>-<ratio>)" };
        var targetMacs = new Option<double?>("--target-macs") { Description = "Structured: search per-group ratios (sensitivity by perturbation) so the model keeps this fraction of its MACs, instead of one --ratio" };
        var targetLatency = new Option<double?>("--target-latency") { Description = "Structured: search per-group ratios so the model keeps this fraction of its latency on this device, from a measured latency lookup table" };
        var targetChannels = new Option<double?>("--target-channels") { Description = "Structured: search per-group ratios so the model keeps this fraction of its channels, removing them where the measured sensitivity is least" };
        var candidates = new Option<double[]>("--candidate-ratios") { Description = "Ratios each group may take in a search (default 0.25 0.5 0.75)", AllowMultipleArgumentsPerToken = true };
        var latencyCache = new Option<DirectoryInfo?>("--latency-cache") { Description = "Where latency lookup tables are kept, per device and model hash (default: .cache/latency under the repository or the current folder)" };
        var roundTo = new Option<int?>("--round-to") { Description = "Structured: round each group's kept channels to a multiple of this (1: no rounding; default: the multiple a convolution probe measured fastest on this device, cached with the latency tables)" };
        var fasterMargin = new Option<double>("--faster-margin") { Description = "Structured: the pruned model must run at most (1 - this) times its parent's latency, measured in the same run, or it is not written", DefaultValueFactory = _ => PruneSpeedCheck.DefaultMargin };
        var allowSlower = new Option<bool>("--allow-slower") { Description = "Structured: write the pruned model even when it is not faster than its parent by --faster-margin" };
        var json = CliOutput.Json();
        var command = new Command("prune", "Make a pruned variant of an fp32 model (unstructured or channel pruning, with reconstruction from calibration data)");
        command.Arguments.Add(input);
        foreach (var option in new Option[] { method, ratio, output, calib, calibLimit, criterion, scope, noReconstruct, reconstruct, batchNorm, distillHead, temperature, distillEpochs, distillRate, distillTemperature, distillCalib, distillLimit, exclude, addTo, id, targetMacs, targetLatency, targetChannels, candidates, latencyCache, roundTo, fasterMargin, allowSlower, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            var source = result.GetValue(input)!;
            var destination = result.GetValue(output)!;
            if (!source.Exists)
            {
                throw new CliError($"model file '{source.FullName}' does not exist");
            }
            string methodName = result.GetValue(method)!.ToLowerInvariant();
            double fraction = result.GetValue(ratio);
            if (double.IsNaN(fraction) || fraction < 0 || fraction >= 1)
            {
                throw new CliError($"--ratio {fraction}: expected a fraction in [0, 1)");
            }
            if (result.GetValue(distillEpochs) < 0)
            {
                throw new CliError($"--distill-epochs {result.GetValue(distillEpochs)}: expected 0 (off) or more passes");
            }
            var model = OnnxModel.Load(source.FullName);
            var data = QuantizeCommand.LoadCalibration(source.FullName, result.GetValue(calib) ?? [], result.GetValue(calibLimit) ?? DefaultLimit(result.GetValue(calib)));
            // Read before pruning, so a bad file is reported before minutes of work, not after.
            var distillData = result.GetValue(distillCalib) is { Length: > 0 } distillSpecs
                ? QuantizeCommand.LoadCalibration(source.FullName, distillSpecs, result.GetValue(distillLimit) ?? DefaultLimit(distillSpecs))
                : data;
            Action<string>? log = result.GetValue(json) ? null : line => context.Error.WriteLine(line);
            string[] excluded = result.GetValue(exclude) ?? [];
            double margin = result.GetValue(fasterMargin);
            if (double.IsNaN(margin) || margin < 0 || margin >= 1)
            {
                throw new CliError($"--faster-margin {margin}: expected a fraction in [0, 1)");
            }
            var searchTarget = new SearchTarget(result.GetValue(targetMacs), result.GetValue(targetLatency), result.GetValue(targetChannels), result.GetValue(latencyCache))
            {
                Candidates = result.GetValue(candidates),
            };
            if (methodName == "structured")
            {
                // Before the channel probe: a bad budget is reported at once.
                CheckTarget(searchTarget, data);
            }
            var timingShapes = methodName == "structured" || data is not null ? TimingShapes(model, data) : new Dictionary<string, long[]>();
            var alignment = methodName == "structured" ? ChooseRoundTo(result.GetValue(roundTo), result.GetValue(latencyCache), log) : null;
            PruneResult pruned;
            try
            {
                pruned = methodName switch
                {
                    "magnitude" or "second-order" => UnstructuredPruner.Prune(model, new UnstructuredPruneOptions
                    {
                        Ratio = fraction,
                        Criterion = ParseCriterion(result.GetValue(criterion) ?? (methodName == "magnitude" ? "l1" : "second-order")),
                        Scope = result.GetValue(scope)!.ToLowerInvariant() switch
                        {
                            "global" => SparsityScope.Global,
                            "per-layer" => SparsityScope.PerLayer,
                            string other => throw new CliError($"--scope '{other}': expected global or per-layer"),
                        },
                        SecondOrderUpdate = methodName == "second-order",
                        Reconstruct = result.GetValue(reconstruct),
                        Exclude = excluded,
                    }, data, log),
                    "block" => BlockMagnitudePruner.Prune(model, new BlockPruneOptions
                    {
                        Ratio = fraction,
                        Scope = result.GetValue(scope)!.ToLowerInvariant() switch
                        {
                            "global" => SparsityScope.Global,
                            "per-layer" => SparsityScope.PerLayer,
                            string other => throw new CliError($"--scope '{other}': expected global or per-layer"),
                        },
                        Exclude = excluded,
                        Reconstruct = result.GetValue(reconstruct),
                    }, data, log),
                    "structured" => PruneStructured(model, new StructuredPruneOptions
                    {
                        Ratio = fraction,
                        Criterion = ParseCriterion(result.GetValue(criterion) ?? "second-order"),
                        Reconstruct = !result.GetValue(noReconstruct),
                        ReestimateBatchNorm = result.GetValue(batchNorm),
                        Exclude = excluded,
                        RoundTo = alignment!.Multiple,
                    }, data, searchTarget with { InputShapes = timingShapes }, log),
                    _ => throw new CliError($"--method '{methodName}': expected magnitude, second-order, block or structured"),
                };
            }
            catch (ValidationException e)
            {
                throw new CliError(e.Message);
            }
            var applied = pruned.Applied.ToList();
            if (result.GetValue(distillHead))
            {
                if (data is null)
                {
                    throw new CliError("--distill-head needs calibration data (--calib)");
                }
                applied.Add(HeadDistiller.Distill(pruned.Model, model, data, result.GetValue(temperature)));
            }
            var warnings = pruned.Warnings.ToList();
            if (result.GetValue(distillEpochs) is > 0 and int epochs)
            {
                if (distillData is null)
                {
                    throw new CliError("--distill-epochs needs samples (--calib or --distill-calib)");
                }
                var distill = new GradientDistillOptions
                {
                    Epochs = epochs,
                    LearningRate = result.GetValue(distillRate),
                    Temperature = result.GetValue(distillTemperature) is > 0 and double t ? t : null,
                    KeepZeros = methodName != "structured",
                };
                try
                {
                    distill.Validate();
                    applied.Add(GradientDistiller.Distill(pruned.Model, model, distillData, distill, log).Describe());
                }
                catch (ValidationException e)
                {
                    throw new CliError(e.Message);
                }
                catch (Exception e) when (e is NotSupportedException or ArgumentException)
                {
                    // The pruned model is still good; say why it was not trained rather than lose it.
                    warnings.Add($"gradient distillation not applied: {e.Message}");
                }
            }
            // Peak memory of the pruning itself, before the timing sessions open.
            long peakRss = Evaluation.Benchmarking.PeakMemory.ReadPeakBytes();
            PruneSpeedCheck? speed = null;
            if (methodName == "structured")
            {
                applied.Insert(0, $"kept channels rounded to multiples of {alignment!.Multiple}: {alignment.Reason}");
                log?.Invoke($"timing the pruned model against its parent at {PruneSpeedCheck.DescribeShapes(timingShapes)}, {Evaluation.Benchmarking.MachineInfo.Current()} ...");
                speed = PruneSpeedCheck.Measure(model, pruned.Model, timingShapes, margin);
                context.Error.WriteLine(speed.Describe());
                if (!speed.Faster && !result.GetValue(allowSlower))
                {
                    throw new CliError($"not written: {speed.Describe()}. The pruned model is not faster than its parent by the margin of {margin:P0}; "
                        + "round kept channels to the device's multiple (--round-to), prune more, or pass --allow-slower to write it anyway");
                }
                applied.Add(speed.Describe());
            }
            pruned.Model.Save(destination.FullName);
            foreach (string warning in warnings)
            {
                context.Error.WriteLine($"warning: {warning}");
            }
            if (result.GetValue(addTo) is string bundle)
            {
                BundleBuilder.Add(bundle, new VariantSource(result.GetValue(id) ?? $"pruned-{methodName}-{Math.Round(fraction * 100)}", destination.FullName)
                {
                    ChannelsKept = Math.Round(pruned.ChannelsKept, 4),
                    Applied = applied,
                }, inputShapes: timingShapes);
            }
            long inBytes = source.Length, outBytes = new FileInfo(destination.FullName).Length;
            var report = new PruneReport(source.FullName, destination.FullName, methodName, fraction, inBytes, outBytes,
                Macs(model, timingShapes), Macs(pruned.Model, timingShapes), Math.Round(pruned.Sparsity, 4), Math.Round(pruned.ChannelsKept, 4), pruned.Layers, applied, pruned.LeftAlone, warnings)
            {
                RoundTo = alignment?.Multiple,
                ParentMilliseconds = speed?.ParentMilliseconds,
                PrunedMilliseconds = speed?.PrunedMilliseconds,
                LatencyRatio = speed?.Ratio,
                PeakRssBytes = peakRss,
            };
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return 0;
            }
            context.Out.WriteLine($"wrote {destination.FullName}: {Formatting.Bytes(outBytes)} ({(double)outBytes / inBytes:P1} of {Formatting.Bytes(inBytes)}), "
                + $"sparsity {report.Sparsity:P1}, channels kept {report.ChannelsKept:P1}, MACs {report.OutputMacs:N0} of {report.InputMacs:N0}"
                + (report.PeakRssBytes > 0 ? $", peak RSS {Formatting.Bytes(report.PeakRssBytes)}" : ""));
            var table = new TextTable("layer", "op", "outputs", "columns", "sparsity");
            foreach (var layer in pruned.Layers)
            {
                table.Add(layer.Layer, layer.OpType, $"{layer.OutputsKept}/{layer.Outputs}", $"{layer.ColumnsKept}/{layer.Columns}", $"{layer.Sparsity:P1}");
            }
            table.WriteTo(context.Out);
            foreach (string line in applied)
            {
                context.Out.WriteLine($"  {line}");
            }
            foreach (string line in pruned.LeftAlone)
            {
                context.Out.WriteLine($"  left alone: {line}");
            }
            return 0;
        });
        return command;
    }

    private static int? DefaultLimit(string[]? specs) => specs is [var single] && Data.DatasetCatalog.IsKnown(single) ? 4096 : null;

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

    private sealed record SearchTarget(double? Macs, double? Latency, double? Channels, DirectoryInfo? LatencyCache)
    {
        public double[]? Candidates { get; init; }
        public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();

        public int Count => (Macs is null ? 0 : 1) + (Latency is null ? 0 : 1) + (Channels is null ? 0 : 1);
        public string Option => Macs is not null ? "--target-macs" : Latency is not null ? "--target-latency" : "--target-channels";
    }

    private static void CheckTarget(SearchTarget target, Compression.Calibration.CalibrationData? data)
    {
        if (target.Count > 1)
        {
            throw new CliError("--target-macs, --target-latency and --target-channels: give one budget, not several");
        }
        if (target.Count == 1 && data is null)
        {
            throw new CliError($"{target.Option} measures each group's sensitivity: it needs --calib");
        }
        if (target.Latency is double latency && (double.IsNaN(latency) || latency <= 0 || latency >= 1))
        {
            throw new CliError($"--target-latency {latency}: expected a fraction of the unpruned model's latency in (0, 1)");
        }
    }

    /// <summary>One ratio for every group, or per-group ratios searched to meet a MAC or latency budget.</summary>
    private static PruneResult PruneStructured(Onnx.OnnxModel model, StructuredPruneOptions options, Compression.Calibration.CalibrationData? data, SearchTarget target, Action<string>? log)
    {
        if (target.Count > 1)
        {
            throw new CliError("--target-macs, --target-latency and --target-channels: give one budget, not several");
        }
        if (target.Count == 0)
        {
            return StructuredPruner.Prune(model, options, data, log);
        }
        if (data is null)
        {
            throw new CliError($"{target.Option} measures each group's sensitivity: it needs --calib");
        }
        var search = new RatioSearchOptions();
        if (target.Candidates is { Length: > 0 } ratios)
        {
            if (ratios.Any(r => double.IsNaN(r) || r <= 0 || r >= 1))
            {
                throw new CliError($"--candidate-ratios {string.Join(" ", ratios)}: each must be a fraction in (0, 1)");
            }
            search = search with { Candidates = [.. ratios.Distinct().Order()] };
        }
        if (target.Latency is double latency)
        {
            if (double.IsNaN(latency) || latency <= 0 || latency >= 1)
            {
                throw new CliError($"--target-latency {latency}: expected a fraction of the unpruned model's latency in (0, 1)");
            }
            var table = PruneLatencyTable.LoadOrMeasure(model, search.Candidates, LatencyCacheDirectory(target.LatencyCache),
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
        RatioSearchResult found;
        try
        {
            found = PruneRatioSearch.Search(model, data, search, options, log);
        }
        catch (ArgumentException e)
        {
            throw new CliError(e.Message);
        }
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

    private static string LatencyCacheDirectory(DirectoryInfo? given) => given?.FullName
        ?? Path.Combine(Path.GetDirectoryName(Zoo.ModelZoo.DefaultCacheDirectory(Environment.CurrentDirectory))!, "latency");

    /// <summary>The given multiple, or the one the channel probe measured on this device (cached next to the latency tables).</summary>
    internal static ChannelAlignment ChooseRoundTo(int? given, DirectoryInfo? latencyCache, Action<string>? log)
    {
        ChannelAlignment alignment;
        if (given is int multiple)
        {
            if (multiple is < 1 or > 1024)
            {
                throw new CliError($"--round-to {multiple}: expected a channel multiple from 1 (no rounding) to 1024");
            }
            var machine = Evaluation.Benchmarking.MachineInfo.Current();
            alignment = new ChannelAlignment(machine.ToString(), "", string.Join(" ", machine.InstructionSets), multiple,
                multiple == 1 ? "rounding disabled by --round-to 1" : $"--round-to {multiple}", [], []);
        }
        else
        {
            alignment = ChannelAlignment.LoadOrMeasure(LatencyCacheDirectory(latencyCache), log: log);
        }
        log?.Invoke($"round-to {alignment.Multiple} ({alignment.InstructionSets}): {alignment.Reason}");
        return alignment;
    }

    /// <summary>The shapes the pruned model is timed at: one calibration sample's, else the model's own fixed shapes.</summary>
    private static Dictionary<string, long[]> TimingShapes(Onnx.OnnxModel model, Compression.Calibration.CalibrationData? data)
    {
        try
        {
            return PruneSpeedCheck.ShapesFor(model, data);
        }
        catch (ArgumentException e)
        {
            throw new CliError(e.Message);
        }
    }

    private static ImportanceCriterion ParseCriterion(string name) => name.ToLowerInvariant() switch
    {
        "l1" => ImportanceCriterion.L1,
        "l2" => ImportanceCriterion.L2,
        "second-order" or "hessian" => ImportanceCriterion.SecondOrder,
        _ => throw new CliError($"--criterion '{name}': expected l1, l2 or second-order"),
    };
}
