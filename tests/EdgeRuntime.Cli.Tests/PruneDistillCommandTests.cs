using System.Text.Json.Nodes;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert prune --distill-epochs`: gradient distillation after pruning, recorded in the report and the bundle.</summary>
public sealed class PruneDistillCommandTests
{
    [Fact]
    public async Task Distilled_variant_records_the_training_in_the_report_and_the_bundle()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path), bundle = Path.Combine(temp.Path, "bundle");
        Assert.Equal(0, (await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--name", "fashion")).ExitCode);

        var result = await Cli.RunAsync("prune", model, "--method", "structured", "--ratio", "0.5", "--calib", "fashion-mnist-train", "--calib-limit", "512",
            "--distill-epochs", "2", "--distill-calib", "fashion-mnist-train", "--distill-limit", "384", "--round-to", "8", "--allow-slower", "-o", temp.File("pruned.onnx"), "--add-to", bundle, "--id", "pruned50-distilled", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var applied = JsonNode.Parse(result.Output)!["applied"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Contains(applied, a => a.StartsWith("gradient distillation of 'logits' to the teacher", StringComparison.Ordinal) && a.Contains("320 samples"));
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var variant = manifest["variants"]!.AsArray().Single(v => (string)v!["id"]! == "pruned50-distilled")!;
        Assert.Contains(variant["applied"]!.AsArray(), a => ((string)a!).StartsWith("gradient distillation", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_model_with_an_op_without_gradient_is_still_pruned_and_saved_with_a_warning()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        var model = OnnxModel.Load(SampleModels.WriteFashionCnn(temp.Path));
        var graph = model.Graph;
        var firstConv = graph.Nodes.First(n => n.OpType == "Conv");
        string normalized = graph.UniqueName("normalized");
        graph.ReplaceUses(firstConv.Output[0], normalized);
        graph.AddNode(GraphNodes.Create("LRN", [firstConv.Output[0]], [normalized], "local_response").SetInt("size", 3));
        graph.SortTopologically();
        string path = temp.File("with-lrn.onnx"), output = temp.File("pruned.onnx");
        model.Save(path);

        var result = await Cli.RunAsync("prune", path, "--method", "magnitude", "--ratio", "0.5", "--calib", "fashion-mnist-train", "--calib-limit", "256",
            "--distill-epochs", "1", "-o", output);
        var negative = await Cli.RunAsync("prune", path, "--method", "magnitude", "--distill-epochs", "-1", "-o", output);
        var missing = await Cli.RunAsync("prune", path, "--method", "magnitude", "--distill-epochs", "1", "--distill-calib", temp.File("nope.npy"), "-o", temp.File("never.onnx"));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("warning: gradient distillation not applied", result.Error);
        Assert.Contains("local_response", result.Error);
        Assert.True(File.Exists(output));
        Assert.Equal(1, negative.ExitCode);
        Assert.Contains("--distill-epochs -1", negative.Error);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("nope.npy", missing.Error);
        Assert.False(File.Exists(temp.File("never.onnx")));
    }
}
