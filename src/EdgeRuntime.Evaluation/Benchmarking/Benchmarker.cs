using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Benchmarking;

public sealed record BenchOptions
{
    public int WarmupRuns { get; init; } = 10;
    /// <summary>Measured runs; the time cap may end them earlier.</summary>
    public int Runs { get; init; } = 200;
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(20);
    /// <summary>Size of a symbolic batch dimension.</summary>
    public int BatchSize { get; init; } = 1;
    /// <summary>Pause between variants, so heat from one does not slow the next.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.Zero;
    public IReadOnlyList<string>? Variants { get; init; }
    /// <summary>Explicit shapes for inputs with symbolic dimensions other than the batch.</summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();
    /// <summary>
    /// Refuse an input whose symbolic dimension (other than the batch) has no size in <see cref="InputShapes"/>,
    /// instead of running it at 1 (an OCR model timed at 1x1 pixels measures nothing). Off only where inputs
    /// merely need to be valid, not representative.
    /// </summary>
    public bool RequireSizedDimensions { get; init; } = true;
}

/// <summary>
/// The benchmark protocol of TFLite's benchmark_model and ncnn's benchncnn, per variant: session-create
/// time, first run, warm-up runs, then a fixed number of runs or a time cap; min / p50 / p95 / p99 and
/// the variant's own peak resident memory.
/// </summary>
public static class Benchmarker
{
    public static BenchReport Run(ModelBundle bundle, BenchOptions? options = null, Action<VariantBenchmark>? progress = null)
    {
        options ??= new BenchOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Runs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.WarmupRuns);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        var ids = options.Variants ?? bundle.Variants.Select(v => v.Id).ToList();
        foreach (string id in ids)
        {
            _ = bundle[id];
        }
        // Shapes: given, else the ones the bundle recorded at calibration (batch from the options).
        if (bundle.Manifest.InputShapes is { Count: > 0 } recorded)
        {
            var merged = recorded.ToDictionary(p => p.Key, p => (long[])[options.BatchSize, .. p.Value.Skip(1)]);
            foreach (var (name, shape) in options.InputShapes)
            {
                merged[name] = shape;
            }
            options = options with { InputShapes = merged };
        }
        var machine = MachineInfo.Current();
        var started = DateTimeOffset.UtcNow;
        var results = new List<VariantBenchmark>();
        string shapes = "";
        foreach (string id in ids)
        {
            var result = Measure(bundle, id, options, ref shapes);
            results.Add(result);
            progress?.Invoke(result);
            if (options.Cooldown > TimeSpan.Zero)
            {
                Thread.Sleep(options.Cooldown);
            }
        }
        return new BenchReport(bundle.Name, machine, options.BatchSize, shapes, started, results);
    }

    private static VariantBenchmark Measure(ModelBundle bundle, string id, BenchOptions options, ref string shapes)
    {
        string precision = bundle[id].Manifest.Precision;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        PeakMemory.TryReset();
        var watch = Stopwatch.StartNew();
        ModelRuntime runtime;
        try
        {
            runtime = ModelRuntime.Open(bundle, new RuntimeOptions { InitialVariant = id, ValidateAllVariantsOnOpen = false, WarmUpOnLoad = false });
        }
        catch (BundleException e)
        {
            return Failed(id, precision, e.Message);
        }
        using (runtime)
        {
            double createMs = watch.Elapsed.TotalMilliseconds;
            if (runtime.CurrentVariant != id)
            {
                return Failed(id, precision, runtime.GetStatus().Single(s => s.Id == id).Reason ?? "unavailable");
            }
            NamedTensor[] inputs;
            try
            {
                inputs = MakeInputs(runtime.Inputs, options);
            }
            catch (ArgumentException e)
            {
                return Failed(id, precision, e.Message);
            }
            shapes = string.Join("; ", inputs.Select(i => i.ToString()));
            try
            {
                watch.Restart();
                runtime.Run(inputs);
                double firstMs = watch.Elapsed.TotalMilliseconds;
                for (int i = 0; i < options.WarmupRuns; i++)
                {
                    runtime.Run(inputs);
                }
                var times = new List<double>(options.Runs);
                var total = Stopwatch.StartNew();
                while (times.Count < options.Runs && (times.Count == 0 || total.Elapsed < options.MaxDuration))
                {
                    long before = Stopwatch.GetTimestamp();
                    runtime.Run(inputs);
                    times.Add(Stopwatch.GetElapsedTime(before).TotalMilliseconds);
                }
                times.Sort();
                return new VariantBenchmark(
                    id, precision, createMs, firstMs, options.WarmupRuns, times.Count,
                    times[0], LatencyTracker.Percentile(times, 0.5), LatencyTracker.Percentile(times, 0.95), LatencyTracker.Percentile(times, 0.99),
                    times.Average(), times[^1], options.BatchSize * 1000.0 / times.Average(), PeakMemory.ReadPeakBytes(), null);
            }
            catch (Exception e) when (e is InvalidInputException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or NotSupportedException)
            {
                return Failed(id, precision, e.Message);
            }
        }
    }

    /// <summary>Deterministic inputs of the declared shapes: uniform [0, 1) for floats, zeros otherwise.</summary>
    public static NamedTensor[] MakeInputs(IReadOnlyList<TensorSignature> signatures, BenchOptions options)
    {
        var random = new Random(42);
        if (options.RequireSizedDimensions)
        {
            var unsized = signatures.Where(s => !options.InputShapes.ContainsKey(s.Name))
                .SelectMany(s => s.Shape.Select((d, axis) => (s.Name, d, axis)).Skip(1).Where(p => !p.d.IsFixed))
                .Select(p => $"{p.Name} axis {p.axis} ('{p.d.Symbol ?? "?"}')")
                .ToList();
            if (unsized.Count > 0)
            {
                throw new ArgumentException($"symbolic input dimension(s) {string.Join(", ", unsized)} have no size: give the shape to time at (--shape NAME=D0xD1x...), "
                    + "or record the calibration shape in the bundle (prune --add-to, build)");
            }
        }
        return
        [
            .. signatures.Select(signature =>
            {
                long[] shape = options.InputShapes.TryGetValue(signature.Name, out var given)
                    ? given
                    : [.. signature.Shape.Select((d, axis) => d.Size ?? (axis == 0 ? options.BatchSize : 1))];
                if (shape.Length != signature.Shape.Count)
                {
                    throw new ArgumentException($"shape for input '{signature.Name}' has rank {shape.Length}, the model's has {signature.Shape.Count}");
                }
                var tensor = NamedTensor.Zeros(signature.Name, signature.ElementType, shape);
                if (signature.ElementType is ElementType.Float32 or ElementType.Float16 or ElementType.Float64)
                {
                    var values = new float[tensor.ElementCount()];
                    for (int i = 0; i < values.Length; i++)
                    {
                        values[i] = random.NextSingle();
                    }
                    TensorConversion.FromFloat32(values, signature.ElementType, tensor.Data.Span);
                }
                return tensor;
            }),
        ];
    }

    private static VariantBenchmark Failed(string id, string precision, string error) =>
        new(id, precision, 0, 0, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0, 0, error);
}
