using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

public sealed class BundleCommandTests
{
    [Fact]
    public async Task Create_then_inspect_and_verify_a_bundle_with_measured_quality()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string bundle = temp.File("bundle");

        var created = await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--variant", $"copy={model}",
            "--dataset", "fashion-mnist", "--limit", "1000", "--name", "fashion");
        Assert.True(created.ExitCode == 0, created.ToString());

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        Assert.Equal("fashion", (string?)manifest["name"]);
        Assert.Equal("fp32", (string?)manifest["reference_variant"]);
        var fp32 = manifest["variants"]![0]!;
        Assert.Equal("fp32", (string?)fp32["precision"]);
        Assert.Equal(1_218_048L, (long?)fp32["macs"] - BatchNormMacs());
        Assert.Equal("top1", (string?)fp32["quality"]!["metric"]);
        Assert.Equal(1000, (int?)fp32["quality"]!["samples"]);
        Assert.Equal(1.0, (double?)manifest["variants"]![1]!["quality"]!["agreement"]);
        Assert.Equal(64, ((string?)fp32["sha256"])!.Length);

        var inspected = await Cli.RunAsync("bundle", "inspect", bundle);
        Assert.True(inspected.ExitCode == 0, inspected.ToString());
        Assert.Contains("input: float32[batch,1,28,28]", inspected.Output);
        Assert.Contains("copy", inspected.Output);

        var verified = await Cli.RunAsync("bundle", "verify", bundle, "--json");
        Assert.True(verified.ExitCode == 0, verified.ToString());
        Assert.True(JsonDocument.Parse(verified.Output).RootElement.GetProperty("ok").GetBoolean());
    }

    /// <summary>The MAC counter may or may not count BatchNormalization (one multiply-add per element).</summary>
    private static long BatchNormMacs()
    {
        var cost = MacCounter.Count(OnnxModel.Load(SampleModels.FashionCnn()));
        return cost.MacsByOpType.GetValueOrDefault("BatchNormalization");
    }

    [Fact]
    public async Task Verify_fails_naming_each_broken_variant()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string bundle = temp.File("bundle");
        Assert.Equal(0, (await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--variant", $"b={model}", "--variant", $"c={model}")).ExitCode);
        File.Delete(Path.Combine(bundle, "b.onnx"));
        var bytes = File.ReadAllBytes(Path.Combine(bundle, "c.onnx"));
        bytes[bytes.Length / 2] ^= 0x55;
        File.WriteAllBytes(Path.Combine(bundle, "c.onnx"), bytes);

        var result = await Cli.RunAsync("bundle", "verify", bundle);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("ok    fp32", result.Output);
        Assert.Contains("FAIL  b: file 'b.onnx' is missing", result.Output);
        Assert.Contains("FAIL  c: sha256 mismatch", result.Output);
    }

    [Fact]
    public async Task Add_checks_the_new_variant_against_the_bundle()
    {
        using var temp = new TempDirectory();
        var (model, bundle) = await Cli.CreateFixtureBundleAsync(temp);

        // A model with another input name does not fit.
        var renamed = OnnxModel.Load(model);
        string oldName = renamed.Graph.Inputs[0].Name;
        renamed.Graph.Inputs[0].Name = "pixels";
        renamed.Graph.ReplaceUses(oldName, "pixels");
        renamed.Save(temp.File("renamed.onnx"));

        var refused = await Cli.RunAsync("bundle", "add", bundle, temp.File("renamed.onnx"), "--id", "renamed");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("variant 'renamed'", refused.Error);
        Assert.Contains("input 'input' is missing", refused.Error);
        Assert.False(File.Exists(Path.Combine(bundle, "renamed.onnx")));

        var added = await Cli.RunAsync("bundle", "add", bundle, model, "--id", "second", "--precision", "fp32");
        Assert.True(added.ExitCode == 0, added.ToString());
        var again = await Cli.RunAsync("bundle", "add", bundle, model, "--id", "second");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("already has a variant 'second'", again.Error);
        Assert.Equal(0, (await Cli.RunAsync("bundle", "verify", bundle)).ExitCode);
    }

    [Fact]
    public async Task Create_refuses_a_non_empty_directory_and_bad_variant_specs()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var notEmpty = await Cli.RunAsync("bundle", "create", temp.Path, "--model", model);
        Assert.Equal(1, notEmpty.ExitCode);
        Assert.Contains("is not empty", notEmpty.Error);

        var badSpec = await Cli.RunAsync("bundle", "create", temp.File("b"), "--model", model, "--variant", "no-equals-sign");
        Assert.Equal(1, badSpec.ExitCode);
        Assert.Contains("expected ID=PATH", badSpec.Error);

        var badId = await Cli.RunAsync("bundle", "create", temp.File("c"), "--model", model, "--reference-id", "../x");
        Assert.Equal(1, badId.ExitCode);
        Assert.Contains("variant id '../x'", badId.Error);
    }

    [Fact]
    public async Task Inspect_of_a_manifest_that_is_not_json_names_the_file()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("manifest.json"), "not json at all");
        var result = await Cli.RunAsync("bundle", "inspect", temp.Path);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("manifest.json", result.Error);
        Assert.Contains("not a valid manifest", result.Error);
    }
}

public sealed class BuildCommandTests
{
    [Fact]
    public async Task Build_makes_a_measured_pareto_ladder_and_its_plot()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string model = EdgeRuntime.Samples.SampleModels.WriteFashionCnn(temp.Path);
        string bundle = temp.File("ladder");

        var result = await Cli.RunAsync("build", model, "-o", bundle, "--calib", "fashion-mnist-train", "--prune-samples", "2048",
            "--dataset", "fashion-mnist", "--limit", "2000", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = System.Text.Json.JsonDocument.Parse(result.Output);
        var rungs = report.RootElement.GetProperty("rungs").EnumerateArray().ToList();
        Assert.True(rungs.Count >= 6, $"{rungs.Count} rungs");
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var variants = manifest["variants"]!.AsArray();
        Assert.Equal(rungs.Count(r => r.GetProperty("kept").GetBoolean()), variants.Count);
        foreach (var variant in variants)
        {
            Assert.NotNull(variant!["quality"]);
            Assert.True((double?)variant["costs"]!["this-machine"]!["latency_p50_ms"] > 0);
            Assert.True(File.Exists(Path.Combine(bundle, (string)variant["file"]!)));
        }
        foreach (var dropped in rungs.Where(r => !r.GetProperty("kept").GetBoolean()))
        {
            Assert.False(string.IsNullOrEmpty(dropped.GetProperty("dropped_because").GetString()));
        }
        Assert.True(File.Exists(temp.File("ladder-ladder.png")));
        Assert.Equal(0, (await Cli.RunAsync("bundle", "verify", bundle)).ExitCode);
    }
}
