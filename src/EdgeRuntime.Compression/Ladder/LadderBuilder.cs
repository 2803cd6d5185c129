using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Ladder;

public sealed record LadderOptions
{
    /// <summary>Fractions of channels to prune, one structured variant each.</summary>
    public IReadOnlyList<double> PruneRatios { get; init; } = [0.3, 0.5, 0.7];
    /// <summary>Calibration samples for int8 ranges.</summary>
    public int QuantizeSamples { get; init; } = 500;
    /// <summary>Calibration samples for pruning's least-squares reconstruction (more samples, better refits).</summary>
    public int PruneSamples { get; init; } = 4096;
    /// <summary>Passes of gradient distillation to the reference after each pruning (0: reconstruction only).</summary>
    public int DistillEpochs { get; init; }
    /// <summary>Device class the measured latency is recorded under in the manifest.</summary>
    public string DeviceClass { get; init; } = "this-machine";
    public int BenchRuns { get; init; } = 300;
    /// <summary>Keep variants that are not on the quality–latency–size Pareto front.</summary>
    public bool KeepDominated { get; init; }
    /// <summary>Kept channel counts of the pruned rungs are rounded to this multiple (see <see cref="StructuredPruneOptions.RoundTo"/>).</summary>
    public int RoundTo { get; init; } = 1;
    /// <summary>A pruned rung must run in at most (1 - this) times its parent's p50 latency, or it is dropped.</summary>
    public double FasterMargin { get; init; } = PruneSpeedCheck.DefaultMargin;
    /// <summary>Inputs the model was specialised for (see <see cref="LadderBuilder.Specialize"/>), recorded in the manifest.</summary>
    public IReadOnlyDictionary<string, string>? FixedInputs { get; init; }
}

/// <summary>One rung: what it is, what it keeps, what it costs, and whether it stays.</summary>
public sealed record LadderRung(string Id, string Precision, double? Quality, long SizeBytes, long? Macs, double LatencyP50Ms, bool Kept, string? DroppedBecause);

public sealed record LadderReport(string Bundle, string Metric, IReadOnlyList<LadderRung> Rungs)
{
    /// <summary>The rung table `edgert build` prints.</summary>
    public void WriteText(TextWriter output)
    {
        var table = new EdgeRuntime.Reporting.TextTable("variant", "precision", Metric, "size", "MACs", "p50 ms", "kept", "why dropped");
        foreach (var rung in Rungs)
        {
            table.Add(rung.Id, rung.Precision, EdgeRuntime.Reporting.Formatting.Percent(rung.Quality), EdgeRuntime.Reporting.Formatting.Bytes(rung.SizeBytes),
                EdgeRuntime.Reporting.Formatting.Count(rung.Macs), double.IsFinite(rung.LatencyP50Ms) ? rung.LatencyP50Ms : null, rung.Kept ? "yes" : "no", rung.DroppedBecause);
        }
        table.WriteTo(output);
    }
}

/// <summary>
/// Makes the standard variant ladder of one fp32 model — fp16, int8, structured-pruned at several levels,
/// each pruned level + int8 — evaluates and measures each, packs them into a bundle, and drops the variants another
/// one beats on quality, latency and size at once.
/// </summary>
public static class LadderBuilder
{
    /// <summary>
    /// For a deployment that fixes some inputs (a sample rate, a mode flag): the model specialised to them, written into
    /// <paramref name="directory"/> under the model's own file name, so the ladder is made from the branch it will run.
    /// </summary>
    /// <exception cref="NotSupportedException">Fixing these inputs decides no If and folds no node.</exception>
    public static string Specialize(string modelPath, IReadOnlyDictionary<string, string> fixedInputs, string directory, Action<string>? progress = null)
    {
        var result = Specialization.ModelSpecializer.Specialize(OnnxModel.Load(modelPath), fixedInputs);
        if (result.InlinedIfs.Count == 0 && result.FoldedNodes == 0)
        {
            throw new NotSupportedException($"nothing to specialize: no If condition and no node depends on {string.Join(", ", fixedInputs.Keys)} alone");
        }
        string path = Path.Combine(directory, Path.GetFileName(modelPath));
        result.Model.Save(path);
        progress?.Invoke($"specialised for {string.Join(", ", fixedInputs.Select(p => $"{p.Key}={p.Value}"))}: {result.InlinedIfs.Count} If node(s) inlined, " +
            $"{result.FoldedNodes} folded, {result.RemovedNodes} fewer in all");
        return path;
    }

    public static LadderReport Build(string modelPath, string bundleDirectory, CalibrationData calibration, CalibrationData pruneCalibration,
        QualityData quality, LadderOptions? options = null, Action<string>? progress = null)
    {
        options ??= new LadderOptions();
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-ladder", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var watch = Stopwatch.StartNew();
            void Step(string what) => progress?.Invoke($"[{watch.Elapsed:mm\\:ss}] {what}");
            var reference = OnnxModel.Load(modelPath);
            var sources = new List<VariantSource> { new("fp32", modelPath) };
            // Pruned rung -> the variant it was made from: pruning that does not make it faster is dropped.
            var parents = new Dictionary<string, string>(StringComparer.Ordinal);

            // A rung the model cannot take (no MatMul for int8-dynamic, an old opset, ...) is skipped with the reason.
            void Try(string id, Action make)
            {
                try
                {
                    make();
                }
                catch (Exception e) when (e is NotSupportedException or InvalidOperationException or InvalidDataException or ArgumentException)
                {
                    Step($"{id} skipped: {e.Message}");
                }
            }

            string Save(string id, QuantizationResult result)
            {
                string path = Path.Combine(work, $"{id}.onnx");
                result.Model.Save(path);
                sources.Add(new VariantSource(id, path) { Precision = result.Mode.ToName(), Applied = result.Applied, FloatNodes = result.FloatNodes });
                return path;
            }

            Step("fp16");
            Try("fp16", () => Save("fp16", Fp16Converter.Convert(reference)));
            Step("int8-static (calibrating)");
            Try("int8-static", () => Save("int8-static", StaticInt8Quantizer.Quantize(reference, calibration)));
            Step("int8-dynamic");
            Try("int8-dynamic", () =>
            {
                var dynamic = DynamicInt8Quantizer.Quantize(reference);
                if (dynamic.QuantizedNodes > 0)
                {
                    Save("int8-dynamic", dynamic);
                }
            });
            // Every pruned rung also gets an int8-static copy: pruning and int8 multiply, so these are the ladder's
            // cheapest rungs, which is what a board under its heaviest load or heat falls back to.
            var pruned = new List<VariantSource>();
            foreach (double ratio in options.PruneRatios)
            {
                string id = $"pruned{Math.Round(ratio * 100)}";
                Step($"{id}: structured pruning with reconstruction");
                Try(id, () =>
                {
                    var result = StructuredPruner.Prune(reference, new StructuredPruneOptions { Ratio = ratio, RoundTo = options.RoundTo }, pruneCalibration);
                    var applied = result.Applied.ToList();
                    if (options.DistillEpochs > 0)
                    {
                        try
                        {
                            applied.Add(GradientDistiller.Distill(result.Model, reference, pruneCalibration, new GradientDistillOptions { Epochs = options.DistillEpochs }).Describe());
                        }
                        catch (Exception e) when (e is NotSupportedException or ArgumentException)
                        {
                            applied.Add($"not distilled: {e.Message}");
                        }
                    }
                    string path = Path.Combine(work, $"{id}.onnx");
                    result.Model.Save(path);
                    var source = new VariantSource(id, path) { ChannelsKept = Math.Round(result.ChannelsKept, 4), Applied = applied };
                    sources.Add(source);
                    pruned.Add(source);
                    parents[id] = "fp32";
                });
            }
            foreach (var prunedSource in pruned)
            {
                string id = $"{prunedSource.Id}-int8";
                Step($"{id}: int8-static of the pruned rung");
                Try(id, () =>
                {
                    var int8 = StaticInt8Quantizer.Quantize(OnnxModel.Load(prunedSource.ModelPath), calibration);
                    string path = Path.Combine(work, $"{id}.onnx");
                    int8.Model.Save(path);
                    sources.Add(new VariantSource(id, path)
                    {
                        Precision = Precisions.Int8Static,
                        ChannelsKept = prunedSource.ChannelsKept,
                        Applied = [.. prunedSource.Applied, .. int8.Applied],
                    });
                });
            }

            Step($"packing and evaluating {sources.Count} variants on {quality.Name}");
            var manifest = BundleBuilder.Create(bundleDirectory, Path.GetFileNameWithoutExtension(modelPath), sources, quality,
                "Variant ladder made by edgert build", PruneSpeedCheck.ShapesFor(reference, calibration), options.FixedInputs);
            Step("measuring latency");
            var bench = Benchmarker.Run(ModelBundle.Open(bundleDirectory), new BenchOptions { Runs = options.BenchRuns, MaxDuration = TimeSpan.FromSeconds(10) });
            manifest = CostRecorder.Record(bundleDirectory, options.DeviceClass, bench);

            var measured = bench.Variants.ToDictionary(v => v.Variant);
            var rungs = manifest.Variants.Select(v => new LadderRung(v.Id, v.Precision, v.Quality?.Value, v.SizeBytes, v.Macs,
                measured[v.Id].Error is null ? measured[v.Id].P50Ms : double.PositiveInfinity, true, null)).ToList();
            rungs = [.. rungs.Select(r => parents.TryGetValue(r.Id, out string? parent) ? SlowerThanParent(r, rungs.Single(p => p.Id == parent), options.FasterMargin) : r)];
            foreach (var slow in rungs.Where(r => !r.Kept))
            {
                Step($"{slow.Id} dropped: {slow.DroppedBecause}");
            }
            rungs = [.. rungs.Select(r => r.Id == "fp32" || options.KeepDominated || !r.Kept ? r : WithDominance(r, rungs))];
            var dropped = rungs.Where(r => !r.Kept).Select(r => r.Id).ToHashSet();
            if (dropped.Count > 0)
            {
                Step($"dropping {dropped.Count} variant(s) off the Pareto front");
                var kept = manifest with { Variants = [.. manifest.Variants.Where(v => !dropped.Contains(v.Id))] };
                ManifestJson.WriteAtomically(kept, Path.Combine(bundleDirectory, BundleManifest.FileName));
                foreach (var variant in manifest.Variants.Where(v => dropped.Contains(v.Id)))
                {
                    File.Delete(Path.Combine(bundleDirectory, variant.File));
                }
            }
            Step("done");
            return new LadderReport(bundleDirectory, manifest.Variants[0].Quality?.Metric ?? "quality", rungs);
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A pruned rung that is not faster than the variant it was pruned from by the margin is dropped: the governor would step down into a slowdown.</summary>
    private static LadderRung SlowerThanParent(LadderRung rung, LadderRung parent, double margin)
    {
        if (rung.LatencyP50Ms <= (1 - margin) * parent.LatencyP50Ms)
        {
            return rung;
        }
        return rung with
        {
            Kept = false,
            DroppedBecause = $"slower than its parent {parent.Id}: p50 {rung.LatencyP50Ms:F4} ms vs {parent.LatencyP50Ms:F4} ms = {rung.LatencyP50Ms / parent.LatencyP50Ms:F3}x (needs <= {1 - margin:F3}x)",
        };
    }

    /// <summary>A rung is dropped when another is at least as good in quality, latency and size, and better in one.</summary>
    private static LadderRung WithDominance(LadderRung rung, IReadOnlyList<LadderRung> all)
    {
        double quality = rung.Quality ?? 0;
        var better = all.FirstOrDefault(o => o.Id != rung.Id
            && (o.Quality ?? 0) >= quality && o.LatencyP50Ms <= rung.LatencyP50Ms && o.SizeBytes <= rung.SizeBytes
            && ((o.Quality ?? 0) > quality || o.LatencyP50Ms < rung.LatencyP50Ms || o.SizeBytes < rung.SizeBytes));
        return better is null ? rung : rung with
        {
            Kept = false,
            DroppedBecause = $"{better.Id} is as accurate or more ({better.Quality:P2} vs {quality:P2}), as fast or faster ({better.LatencyP50Ms:F4} vs {rung.LatencyP50Ms:F4} ms) and no larger",
        };
    }
}
