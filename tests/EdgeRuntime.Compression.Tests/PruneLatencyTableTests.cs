using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// The latency lookup table for pruning, measured here in ONNX Runtime, and the ratio search under a
/// latency target in the table's own units. No assertion is about speed: the machine may be loaded.
/// </summary>
public sealed class PruneLatencyTableTests
{
    private static readonly double[] Ratios = [0.25, 0.5, 0.75];
    private static readonly LatencyTableOptions Quick = new() { Rounds = 3, RunsPerRound = 5, MinRoundMilliseconds = 2 };

    [Fact]
    public void The_table_of_the_fixture_has_every_group_at_every_ratio_and_is_reused_from_its_cache()
    {
        using var temp = new TempDirectory();
        var model = OnnxModel.Load(SampleModels.WriteFashionCnn(temp.Path));
        var groups = ChannelDependencyGraph.Analyze(model).Prunable.Select(g => g.Producers[0].Name).ToList();

        var table = PruneLatencyTable.LoadOrMeasure(model, Ratios, temp.File("latency"), Quick);

        Assert.Equal(groups.Count * Ratios.Length, table.Entries.Count);
        foreach (string group in groups)
        {
            Assert.Equal(Ratios, table.Entries.Where(e => e.Group == group).Select(e => e.Ratio));
        }
        Assert.All(table.Entries, e => Assert.True(e.Milliseconds > 0 && double.IsFinite(e.Fraction) && e.Fraction > 0, $"{e}"));
        Assert.True(table.BaselineMilliseconds > 0);
        Assert.Equal(1.0, table.Fraction(groups[0], 0));
        string path = PruneLatencyTable.CachePath(model, temp.File("latency"));
        Assert.True(File.Exists(path), path);
        Assert.Contains(table.ModelSha256, path);

        // A second call reads the cached file: fresh timings would never repeat to the last bit.
        var again = PruneLatencyTable.LoadOrMeasure(model, Ratios, temp.File("latency"), Quick);
        Assert.Equal(table.BaselineMilliseconds, again.BaselineMilliseconds);
        Assert.Equal(table.Entries, again.Entries);

        // Another model (one weight changed) has another hash, so its own table.
        var other = model.Clone();
        var weight = other.Graph.Initializers.First(i => i.Dims.Count == 4);
        var values = other.Graph.GetInitializerData(weight.Name).ToFloatArray();
        values[0] += 1;
        other.Graph.SetInitializer(weight.Name, TensorData.Create(values, [.. weight.Dims]));
        Assert.NotEqual(path, PruneLatencyTable.CachePath(other, temp.File("latency")));
    }

    [Fact]
    public void A_corrupt_cached_table_is_reported_by_path()
    {
        using var temp = new TempDirectory();
        string path = temp.File("broken.json");
        File.WriteAllText(path, "{ not json");
        var error = Assert.Throws<InvalidDataException>(() => PruneLatencyTable.Load(path));
        Assert.Contains("broken.json", error.Message);
        Assert.Throws<ArgumentException>(() => PruneLatencyTable.Measure(OnnxModel.Load(SampleModels.WriteFashionCnn(temp.Path)), [0.5, 1.0], Quick));
    }

    [Fact]
    public void Search_meets_a_latency_target_in_the_tables_units_and_the_model_stays_valid()
    {
        using var temp = new TempDirectory();
        var model = PruneModels.Residual();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 128, 3, 8, 8);
        var table = PruneLatencyTable.Measure(model, Ratios, Quick);
        // A target the table can reach whatever this machine measured: half the largest saving of any single entry.
        double largestSaving = 1 - table.Entries.Min(e => e.Fraction);
        Assert.True(largestSaving > 0, $"pruning saved nothing measurable: {string.Join("; ", table.Entries)}");
        double target = 1 - Math.Min(largestSaving, 0.9) / 2;

        var search = PruneRatioSearch.Search(model, calibration, new RatioSearchOptions { LatencyTarget = target, LatencyTable = table, Candidates = Ratios, SensitivitySamples = 64 });

        Assert.NotNull(search.PredictedLatency);
        Assert.True(search.PredictedLatency <= target + 1e-12, $"predicted {search.PredictedLatency} for target {target}");
        Assert.Equal(table.Predict(search.GroupRatios), search.PredictedLatency!.Value, 12);
        Assert.NotEmpty(search.GroupRatios);
        var pruned = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0, GroupRatios = search.GroupRatios }, calibration);
        Assert.Empty(pruned.Model.Graph.Validate());
        var probe = Ort.RandomValues(4 * 3 * 64, seed: 5, 0, 1);
        var output = Ort.Run(pruned.Model, ("x", probe, [4, 3, 8, 8]))["y"];
        Assert.Equal(4 * 5, output.Length);
        Assert.All(output, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1, LatencyProbe.Compare([model, pruned.Model], Quick)[0].Fraction);
    }

    [Fact]
    public void Search_under_a_channel_budget_keeps_no_more_channels_than_asked()
    {
        using var temp = new TempDirectory();
        var model = PruneModels.SqueezeExcite();
        var calibration = PruneUnstructuredTests.RandomCalibration(model, temp, 128, 3, 8, 8);

        var search = PruneRatioSearch.Search(model, calibration, new RatioSearchOptions { ChannelTarget = 0.7, Candidates = Ratios, SensitivitySamples = 64 });
        var pruned = StructuredPruner.Prune(model, new StructuredPruneOptions { Ratio = 0, GroupRatios = search.GroupRatios }, calibration);

        Assert.True(pruned.ChannelsKept <= 0.7, $"kept {pruned.ChannelsKept:P1} with {string.Join(", ", search.GroupRatios)}");
        Assert.Empty(pruned.Model.Graph.Validate());
        Assert.Throws<ArgumentException>(() => new RatioSearchOptions { ChannelTarget = 0 }.Validate());
    }

    [Fact]
    public async Task Prune_command_searches_under_a_latency_target_and_reports_predicted_and_measured_latency()
    {
        using var temp = new TempDirectory();
        string model = temp.File("residual.onnx");
        PruneModels.Residual().Save(model);
        string calibration = Ort.SaveNpy(temp.File("x.npy"), Ort.RandomValues(64 * 3 * 64, seed: 3, 0, 1), 64, 3, 8, 8);
        string output = temp.File("fast.onnx");

        // Groups of 8 channels: no rounding (it would leave them whole), and whether this tiny model gets faster is the benchmark's business.
        var (code, stdout, stderr) = await OpsetUpgradeCommandTests.RunAsync("prune", model, "--method", "structured", "--target-latency", "0.9",
            "--calib", calibration, "--latency-cache", temp.File("latency"), "--round-to", "1", "--allow-slower", "-o", output);

        Assert.True(code == 0, stderr);
        Assert.Matches(@"searched for 90 % of the latency on this device .*predicted -?[\d.]+ %, measured [\d.]+ %", stdout);
        Assert.Single(Directory.GetFiles(temp.File("latency"), "*.json", SearchOption.AllDirectories));
        Assert.Empty(OnnxModel.Load(output).Graph.Validate());

        var (refused, _, error) = await OpsetUpgradeCommandTests.RunAsync("prune", model, "--method", "structured", "--target-latency", "0.6", "-o", output);
        Assert.NotEqual(0, refused);
        Assert.Contains("--target-latency measures each group's sensitivity: it needs --calib", error);
        (refused, _, error) = await OpsetUpgradeCommandTests.RunAsync("prune", model, "--method", "structured", "--target-latency", "1.5", "--calib", calibration, "-o", output);
        Assert.NotEqual(0, refused);
        Assert.Contains("--target-latency 1.5", error);
        (refused, _, error) = await OpsetUpgradeCommandTests.RunAsync("prune", model, "--method", "structured", "--target-latency", "0.6", "--target-macs", "0.5", "--calib", calibration, "-o", output);
        Assert.NotEqual(0, refused);
        Assert.Contains("give one budget", error);
    }

    [Fact]
    public void A_latency_target_without_a_table_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new RatioSearchOptions { LatencyTarget = 0.6 }.Validate());
        Assert.Contains("latency table", error.Message);
        Assert.Throws<ArgumentException>(() => new RatioSearchOptions { LatencyTarget = 1.5, LatencyTable = null }.Validate());
    }
}
