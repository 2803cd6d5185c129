using System.Text.Json;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>Latency of the probe convolution at one channel count (fastest of the interleaved rounds) and per unit of work.</summary>
/// <param name="Efficiency">Time per C² (the convolution's work grows with in x out channels), relative to the best count of the kernel.</param>
public sealed record ChannelTiming(string Kernel, int Channels, double Milliseconds, double Efficiency);

/// <summary>How channel counts that are multiples of one number run, on average over the probe's kernels.</summary>
/// <param name="Cost">Mean relative time per unit of work of the counts that are multiples (1 = the best count measured).</param>
public sealed record MultipleScore(int Multiple, double Cost);

/// <summary>
/// What channel multiple pruning should round kept counts to on this device, as measured: one
/// convolution (C in, C out, at a fixed spatial size, in ONNX Runtime, a single-node model) is timed at
/// every channel count of a range in interleaved rounds (the fastest round of each count, so other load on
/// the machine disturbs it least). Each count's time per unit of work (C²) shows where the cliffs are:
/// counts off the kernels' channel blocks cost more per unit. For each candidate multiple, the mean cost of
/// the counts that are its multiples; the multiple chosen is the smallest whose cost is within the tolerance
/// of the best multiple's, for a 1x1 and a 3x3 kernel together. Cached per device key like the latency table.
/// </summary>
public sealed record ChannelAlignment(
    string Device,
    string DeviceKey,
    string InstructionSets,
    int Multiple,
    string Reason,
    IReadOnlyList<MultipleScore> Scores,
    IReadOnlyList<ChannelTiming> Timings)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Multiples tried, smallest first.</summary>
    public static readonly IReadOnlyList<int> CandidateMultiples = [1, 2, 4, 8, 16];

    public const string FileName = "channel-alignment.json";

    public static ChannelAlignment Measure(ChannelProbeOptions? options = null, Action<string>? log = null)
    {
        options ??= new ChannelProbeOptions();
        options.Validate();
        var timings = new List<ChannelTiming>();
        foreach (int kernel in options.Kernels)
        {
            var counts = Enumerable.Range(options.FromChannels, options.ToChannels - options.FromChannels + 1).ToList();
            log?.Invoke($"channel probe: timing a {kernel}x{kernel} convolution at {counts[0]}..{counts[^1]} channels, {options.Height}x{options.Width} ...");
            var models = counts.Select(c => ConvolutionModel(c, kernel, options.Height, options.Width)).ToList();
            var measured = LatencyProbe.Compare(models, new LatencyTableOptions { Rounds = options.Rounds, RunsPerRound = 5, MinRoundMilliseconds = options.MinRoundMilliseconds });
            var perWork = counts.Select((c, i) => measured[i].MinMilliseconds / ((double)c * c)).ToList();
            double best = perWork.Min();
            timings.AddRange(counts.Select((c, i) => new ChannelTiming($"{kernel}x{kernel}", c, Math.Round(measured[i].MinMilliseconds, 5), Math.Round(perWork[i] / best, 4))));
        }
        var (multiple, reason, scores) = Choose(timings, options.Tolerance);
        var machine = MachineInfo.Current();
        return new ChannelAlignment(machine.ToString(), PruneLatencyTable.KeyOfDevice(machine, 1), string.Join(" ", machine.InstructionSets), multiple, reason, scores, timings);
    }

    /// <summary>The smallest candidate multiple whose counts cost, per unit of work, within <paramref name="tolerance"/> of the best multiple's.</summary>
    public static (int Multiple, string Reason, IReadOnlyList<MultipleScore> Scores) Choose(IReadOnlyList<ChannelTiming> timings, double tolerance)
    {
        if (timings.Count == 0)
        {
            throw new ArgumentException("the channel probe has no timings");
        }
        var kernels = timings.GroupBy(t => t.Kernel).ToList();
        var scores = CandidateMultiples
            .Where(m => kernels.All(k => k.Count(t => t.Channels % m == 0) >= 2))
            .Select(m => new MultipleScore(m, Math.Round(kernels.Average(k => k.Where(t => t.Channels % m == 0).Average(t => t.Efficiency)), 4)))
            .ToList();
        if (scores.Count == 0)
        {
            throw new ArgumentException("the channel probe's range holds too few counts to compare multiples");
        }
        double best = scores.Min(s => s.Cost);
        var chosen = scores.First(s => s.Cost <= best * (1 + tolerance));
        string table = string.Join(", ", scores.Select(s => $"x{s.Multiple} {s.Cost:F2}"));
        string reason = chosen.Multiple == 1
            ? $"any channel count ran as efficiently as aligned ones (time per unit of work relative to the best count: {table}; tolerance {tolerance:P0})"
            : $"counts that are multiples of {chosen.Multiple} ran the fastest per unit of work, smaller multiples slower "
                + $"(time per unit of work relative to the best count, 1x1 and 3x3 convolutions: {table}; tolerance {tolerance:P0})";
        return (chosen.Multiple, reason, scores);
    }

    /// <summary>The cached alignment of this device under <paramref name="cacheDirectory"/>, else measured and cached there.</summary>
    public static ChannelAlignment LoadOrMeasure(string cacheDirectory, ChannelProbeOptions? options = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        string path = CachePath(cacheDirectory);
        if (File.Exists(path))
        {
            try
            {
                var cached = JsonSerializer.Deserialize<ChannelAlignment>(File.ReadAllText(path), Json);
                if (cached is not null && cached.Multiple >= 1 && cached.Timings is { Count: > 0 })
                {
                    log?.Invoke($"channel alignment from {path}");
                    return cached;
                }
            }
            catch (JsonException)
            {
                // Measured again below and the file replaced.
            }
        }
        var measured = Measure(options, log);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(measured, Json));
        File.Move(temporary, path, overwrite: true);
        log?.Invoke($"channel alignment written to {path}");
        return measured;
    }

    public static string CachePath(string cacheDirectory) =>
        Path.Combine(cacheDirectory, PruneLatencyTable.KeyOfDevice(MachineInfo.Current(), 1), FileName);

    /// <summary>x [1, C, H, W] → Conv (C → C, k x k, same padding) → y.</summary>
    public static OnnxModel ConvolutionModel(int channels, int kernel, int height, int width)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, 1, channels, height, width));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, 1, channels, height, width));
        var random = new Random(channels * 31 + kernel);
        var weight = new float[channels * channels * kernel * kernel];
        for (int i = 0; i < weight.Length; i++)
        {
            weight[i] = random.NextSingle() - 0.5f;
        }
        graph.AddInitializer(TensorData.Create(weight, channels, channels, kernel, kernel).ToProto("w"));
        graph.AddInitializer(TensorData.Vector(new float[channels]).ToProto("b"));
        int pad = kernel / 2;
        graph.AddNode("Conv", ["x", "w", "b"], ["y"], "conv").SetInts("pads", [pad, pad, pad, pad]);
        return model;
    }
}

public sealed record ChannelProbeOptions
{
    /// <summary>First and last channel count timed (every count in between is).</summary>
    public int FromChannels { get; init; } = 32;
    public int ToChannels { get; init; } = 80;
    /// <summary>Spatial size of the probe's feature map (that of a mid-network layer of a small CNN).</summary>
    public int Height { get; init; } = 24;
    public int Width { get; init; } = 48;
    public IReadOnlyList<int> Kernels { get; init; } = [1, 3];
    public int Rounds { get; init; } = 7;
    public double MinRoundMilliseconds { get; init; } = 10;
    /// <summary>A multiple is good enough when its counts cost at most this fraction more per unit of work than the best multiple's.</summary>
    /// <remarks>
    /// 2%: on a loaded two-core AVX-512 machine the multiples of 8 scored 4.8% above those of 16 (1.30 vs 1.24), so a
    /// 5% tolerance took 8, whose PP-OCR prune then ran at 0.80x instead of 0.70x; on the quiet machine 16 won by 10%.
    /// </remarks>
    public double Tolerance { get; init; } = 0.02;

    public void Validate()
    {
        if (FromChannels < 1 || ToChannels <= FromChannels || ToChannels > 4096 || Height < 1 || Width < 1 || Rounds < 1
            || Kernels.Count == 0 || Kernels.Any(k => k is < 1 or > 7 || k % 2 == 0) || Tolerance is < 0 or > 1 || double.IsNaN(Tolerance))
        {
            throw new ArgumentException("channel probe: channel range, spatial size, rounds, kernels (odd, 1..7) and tolerance (0..1) must be valid");
        }
    }
}
