using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>How the latency lookup table is measured.</summary>
public sealed record LatencyTableOptions
{
    /// <summary>Rounds over all candidate models; each round times every model once, in a rotated order.</summary>
    public int Rounds { get; init; } = 7;
    /// <summary>Inference runs per model and round at least (their mean is the round's figure).</summary>
    public int RunsPerRound { get; init; } = 20;
    /// <summary>More runs per round for fast models, so that each model's share of a round lasts about this long and timer and scheduler noise average out.</summary>
    public double MinRoundMilliseconds { get; init; } = 20;
    public int BatchSize { get; init; } = 1;
    /// <summary>
    /// Kept channel counts of the timed candidates are rounded to this multiple (<see cref="StructuredPruneOptions.RoundTo"/>),
    /// so the table holds the counts the pruning will really produce.
    /// </summary>
    public int RoundTo { get; init; } = 1;
    /// <summary>Shapes of inputs with symbolic dimensions (besides the batch), e.g. the calibration data's.</summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();

    /// <summary>Part of the cache file name: what besides the model and device the figures depend on.</summary>
    internal string Variant =>
        (RoundTo > 1 ? $"-round{RoundTo}" : "")
        + (InputShapes.Count == 0 ? "" : "-" + string.Join("_", InputShapes.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Join("x", p.Value))));

    public void Validate()
    {
        if (Rounds < 1 || RunsPerRound < 1 || BatchSize < 1 || RoundTo < 1 || MinRoundMilliseconds < 0 || double.IsNaN(MinRoundMilliseconds))
        {
            throw new ArgumentException($"latency table: rounds ({Rounds}), runs per round ({RunsPerRound}), batch size ({BatchSize}) and channel multiple ({RoundTo}) must be at least 1");
        }
    }
}

/// <summary>Latency of the model with one channel group pruned at one ratio, as measured.</summary>
/// <param name="Fraction">Median over rounds of its latency divided by the unpruned model's in the same round.</param>
public sealed record LatencyEntry(string Group, double Ratio, double Milliseconds, double Fraction);

/// <summary>
/// A latency lookup table for pruning on this device: for each prunable channel group and candidate ratio,
/// the whole model with only that group pruned is timed in ONNX Runtime against the unpruned model, in
/// interleaved rounds (medians), so the saving of a group is measured with the real shapes, kernels and
/// memory traffic rather than estimated from MACs. Pruning for latency only changes shapes, so the
/// timed models are pruned by filter norm without calibration data. Cached as JSON per device and model.
/// </summary>
public sealed record PruneLatencyTable(
    string ModelSha256,
    string Device,
    string DeviceKey,
    int BatchSize,
    int Rounds,
    int RunsPerRound,
    double BaselineMilliseconds,
    IReadOnlyList<LatencyEntry> Entries)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Latency as a fraction of the unpruned model's with only <paramref name="group"/> pruned at <paramref name="ratio"/> (1 at ratio 0).</summary>
    public double Fraction(string group, double ratio)
    {
        if (ratio == 0)
        {
            return 1;
        }
        return Entries.FirstOrDefault(e => e.Group == group && e.Ratio == ratio)?.Fraction
            ?? throw new KeyNotFoundException($"the latency table has no entry for group '{group}' at ratio {ratio}");
    }

    /// <summary>
    /// Predicted latency fraction of a model with several groups pruned: the measured savings of the groups
    /// added up (each measured alone, so interactions between groups are not in the prediction).
    /// </summary>
    public double Predict(IReadOnlyDictionary<string, double> groupRatios) =>
        1 - groupRatios.Sum(p => 1 - Fraction(p.Key, p.Value));

    public static PruneLatencyTable Measure(OnnxModel model, IReadOnlyList<double> ratios, LatencyTableOptions? options = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new LatencyTableOptions();
        options.Validate();
        CheckRatios(ratios);
        var working = model.Clone();
        working.Graph.ConvertConstantNodes();
        var groups = ChannelDependencyGraph.Analyze(working).Prunable.Select(g => g.Producers[0].Name).ToList();
        if (groups.Count == 0)
        {
            throw new NotSupportedException("the model has no channel group that can be pruned safely");
        }
        var shapeOnly = new StructuredPruneOptions { Ratio = 0, Criterion = ImportanceCriterion.L1, Reconstruct = false, ReestimateBatchNorm = false, RoundTo = options.RoundTo };
        var candidates = new List<(string Group, double Ratio, OnnxModel Model)>();
        foreach (string group in groups)
        {
            foreach (double ratio in ratios.Order())
            {
                var pruned = StructuredPruner.Prune(working, shapeOnly with { GroupRatios = new Dictionary<string, double> { [group] = ratio } });
                candidates.Add((group, ratio, pruned.Model));
            }
        }
        log?.Invoke($"timing {candidates.Count} single-group prunings against the model ({options.Rounds} interleaved rounds x at least {options.RunsPerRound} runs or {options.MinRoundMilliseconds} ms per model) ...");
        var timings = LatencyProbe.Compare([working, .. candidates.Select(c => c.Model)], options);
        var entries = candidates.Select((c, i) => new LatencyEntry(c.Group, c.Ratio, timings[i + 1].Milliseconds, timings[i + 1].Fraction)).ToList();
        var machine = MachineInfo.Current();
        return new PruneLatencyTable(Sha256(model), machine.ToString(), KeyOfDevice(machine, options.BatchSize), options.BatchSize, options.Rounds, options.RunsPerRound,
            timings[0].Milliseconds, entries);
    }

    /// <summary>
    /// The table cached for this model on this device under <paramref name="cacheDirectory"/> when it covers
    /// <paramref name="ratios"/>; otherwise it is measured and written there.
    /// </summary>
    public static PruneLatencyTable LoadOrMeasure(OnnxModel model, IReadOnlyList<double> ratios, string cacheDirectory, LatencyTableOptions? options = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        options ??= new LatencyTableOptions();
        options.Validate();
        string path = CachePath(model, cacheDirectory, options.BatchSize, options.Variant);
        if (File.Exists(path))
        {
            var cached = Load(path);
            var groups = ChannelDependencyGraph.Analyze(WithoutConstants(model)).Prunable.Select(g => g.Producers[0].Name);
            if (cached.ModelSha256 == Sha256(model) && groups.All(g => ratios.All(r => cached.Entries.Any(e => e.Group == g && e.Ratio == r))))
            {
                log?.Invoke($"latency table from {path}");
                return cached;
            }
        }
        var table = Measure(model, ratios, options, log);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        table.Save(path);
        log?.Invoke($"latency table written to {path}");
        return table;
    }

    /// <summary>Where the table of <paramref name="model"/> on this device lives: one folder per device, one file per model hash.</summary>
    public static string CachePath(OnnxModel model, string cacheDirectory, int batchSize = 1, string variant = "") =>
        Path.Combine(cacheDirectory, KeyOfDevice(MachineInfo.Current(), batchSize), $"{Sha256(model)}{variant}.json");

    public void Save(string path)
    {
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static PruneLatencyTable Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<PruneLatencyTable>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"latency table '{path}' is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"latency table '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    internal static string Sha256(OnnxModel model) => Convert.ToHexStringLower(SHA256.HashData(model.ToBytes()));

    private static OnnxModel WithoutConstants(OnnxModel model)
    {
        var copy = model.Clone();
        copy.Graph.ConvertConstantNodes();
        return copy;
    }

    /// <summary>The machine, runtime and thread count the figures depend on, as a short stable folder name.</summary>
    internal static string KeyOfDevice(MachineInfo machine, int batchSize)
    {
        string identity = $"{machine.CpuModel}|{machine.Architecture}|{machine.LogicalCores}|{string.Join(",", machine.InstructionSets)}|{machine.OnnxRuntimeVersion}|{machine.IntraOpThreads}|batch{batchSize}";
        string slug = new([.. machine.CpuModel.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        slug = string.Join("-", slug.Split('-', StringSplitOptions.RemoveEmptyEntries));
        if (slug.Length > 40)
        {
            slug = slug[..40];
        }
        return $"{slug}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..12]}";
    }

    private static void CheckRatios(IReadOnlyList<double> ratios)
    {
        if (ratios.Count == 0 || ratios.Any(r => double.IsNaN(r) || r <= 0 || r >= 1))
        {
            throw new ArgumentException($"latency table ratios must be fractions in (0, 1), got [{string.Join(", ", ratios)}]");
        }
    }
}

/// <summary>Median latency of a model over interleaved rounds, and as a fraction of the first model's in the same rounds.</summary>
/// <param name="MinMilliseconds">The fastest round's mean: the least disturbed by other load on the machine.</param>
public sealed record LatencyMeasurement(double Milliseconds, double Fraction)
{
    public double MinMilliseconds { get; init; }
}

/// <summary>Times several models against the first one in interleaved rounds, so machine load affects all alike.</summary>
public static class LatencyProbe
{
    public static IReadOnlyList<LatencyMeasurement> Compare(IReadOnlyList<OnnxModel> models, LatencyTableOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(models.Count, 1);
        options ??= new LatencyTableOptions();
        options.Validate();
        var scratch = new List<ScratchRuntime>(models.Count);
        try
        {
            foreach (var model in models)
            {
                scratch.Add(ScratchRuntime.Open(model));
            }
            var runtimes = scratch.Select(s => s.Runtime).ToList();
            var inputs = runtimes.Select(r => Benchmarker.MakeInputs(r.Inputs, new BenchOptions { BatchSize = options.BatchSize, InputShapes = options.InputShapes })).ToList();
            for (int i = 0; i < runtimes.Count; i++)
            {
                for (int w = 0; w < 3; w++)
                {
                    runtimes[i].Run(inputs[i]);
                }
            }
            var stopwatch = Stopwatch.StartNew();
            for (int w = 0; w < 5; w++)
            {
                runtimes[0].Run(inputs[0]);
            }
            double single = stopwatch.Elapsed.TotalMilliseconds / 5;
            int runs = (int)Math.Clamp(Math.Ceiling(options.MinRoundMilliseconds / Math.Max(single, 1e-3)), options.RunsPerRound, 100_000);
            var perRound = new double[options.Rounds, runtimes.Count];
            for (int round = 0; round < options.Rounds; round++)
            {
                for (int k = 0; k < runtimes.Count; k++)
                {
                    // Rotate the order each round so no model always runs right after the same neighbour.
                    int i = (k + round) % runtimes.Count;
                    stopwatch.Restart();
                    for (int run = 0; run < runs; run++)
                    {
                        runtimes[i].Run(inputs[i]);
                    }
                    perRound[round, i] = stopwatch.Elapsed.TotalMilliseconds / runs;
                }
            }
            return
            [
                .. Enumerable.Range(0, runtimes.Count).Select(i => new LatencyMeasurement(
                    Median(Enumerable.Range(0, options.Rounds).Select(r => perRound[r, i])),
                    Median(Enumerable.Range(0, options.Rounds).Select(r => perRound[r, i] / perRound[r, 0])))
                {
                    MinMilliseconds = Enumerable.Range(0, options.Rounds).Min(r => perRound[r, i]),
                }),
            ];
        }
        finally
        {
            foreach (var model in scratch)
            {
                model.Dispose();
            }
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
