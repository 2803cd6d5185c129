using System.Text.Json.Nodes;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Tests;

/// <summary>
/// Models whose inputs have symbolic spatial dimensions: never timed or counted at 1x1. The shape comes from
/// --shape, else from the calibration shape a bundle recorded, else the command refuses and names the dimensions.
/// </summary>
public sealed class SymbolicShapeCommandTests
{
    private static string WriteModel(TempDirectory temp)
    {
        var model = GeneratedCnns.Plain(size: 32);
        model.Graph.Inputs.Clear();
        model.Graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 3, "height", "width"));
        string path = temp.File("symbolic.onnx");
        model.Save(path);
        return path;
    }

    [Fact]
    public async Task Bench_refuses_symbolic_spatial_dimensions_without_a_shape_and_uses_a_given_one()
    {
        using var temp = new TempDirectory();
        string model = WriteModel(temp);

        var refused = await Cli.RunAsync("bench", model, "--runs", "3", "--warmup", "1");
        var given = await Cli.RunAsync("bench", model, "--runs", "3", "--warmup", "1", "--shape", "x=1x3x32x32", "--json");

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("'height'", refused.Output + refused.Error);
        Assert.Contains("'width'", refused.Output + refused.Error);
        Assert.True(given.ExitCode == 0, given.ToString());
        Assert.Contains("1,3,32,32", (string)JsonNode.Parse(given.Output)!["input_shapes"]!);
    }

    [Fact]
    public async Task A_pruned_variant_records_the_calibration_shape_and_inspect_shows_its_channels_macs_and_params()
    {
        using var temp = new TempDirectory();
        string model = WriteModel(temp), bundle = temp.File("bundle");
        string calibration = temp.File("x.npy");
        NpyFile.Save(calibration, NpyArray.FromValues<float>(Enumerable.Range(0, 16 * 3 * 32 * 32).Select(i => (i * 7919 % 1000) / 1000f).ToArray(), [16, 3, 32, 32]));
        Assert.Equal(0, (await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--name", "symbolic")).ExitCode);

        var pruned = await Cli.RunAsync("prune", model, "--method", "structured", "--ratio", "0.5", "--round-to", "8", "--calib", calibration,
            "--allow-slower", "-o", temp.File("pruned.onnx"), "--add-to", bundle, "--id", "pruned50");
        Assert.True(pruned.ExitCode == 0, pruned.ToString());
        // A variant added without going through prune: its channels are read from the graphs.
        Assert.Equal(0, (await Cli.RunAsync("bundle", "add", bundle, temp.File("pruned.onnx"), "--id", "copy")).ExitCode);

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var variants = manifest["variants"]!.AsArray();
        long expected = MacCounter.Count(OnnxModel.Load(temp.File("pruned.onnx")), new Dictionary<string, long[]> { ["x"] = [1, 3, 32, 32] }).TotalMacs;
        foreach (string id in new[] { "pruned50", "copy" })
        {
            var variant = variants.Single(v => (string)v!["id"]! == id)!;
            Assert.InRange((double)variant["channels_kept"]!, 0.4, 0.7);
            Assert.Equal(expected, (long)variant["macs"]!);
            Assert.True((long)variant["parameters"]! > 0);
        }
        Assert.Equal([1, 3, 32, 32], manifest["input_shapes"]!["x"]!.AsArray().Select(d => (long)d!));
        var inspect = await Cli.RunAsync("bundle", "inspect", bundle);
        Assert.Contains("x 1x3x32x32", inspect.Output);

        var bench = await Cli.RunAsync("bench", bundle, "--runs", "3", "--warmup", "1", "--json");
        Assert.True(bench.ExitCode == 0, bench.ToString());
        Assert.Contains("1,3,32,32", (string)JsonNode.Parse(bench.Output)!["input_shapes"]!);
    }
}
