using System.Text.Json.Nodes;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

public sealed class SparsifyCommandTests
{
    [Fact]
    public async Task Block_pruned_model_is_sparsified_into_a_bundle_that_names_and_carries_the_library()
    {
        string library = SparseOpsLibrary.Require();
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string pruned = temp.File("block80.onnx"), sparse = temp.File("sparse.onnx"), bundle = Path.Combine(temp.Path, "bundle");
        var prune = await Cli.RunAsync("prune", model, "--method", "block", "--ratio", "0.8", "--exclude", "Conv", "-o", pruned);
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.Equal(0, (await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--name", "fashion")).ExitCode);

        // --margin 0 replaces every candidate whatever the timings: the test checks the plumbing, not the speed.
        var result = await Cli.RunAsync("sparsify", pruned, "--library", library, "-o", sparse, "--margin", "0", "--rounds", "1", "--runs", "3",
            "--formats", "blocks", "--add-to", bundle, "--id", "block80-sparse", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        var report = JsonNode.Parse(result.Output)!;
        var layers = report["layers"]!.AsArray();
        Assert.Equal(4, layers.Count);
        var gemm = layers.Single(l => (string)l!["layer"]! == "/classifier/classifier.1/Gemm")!;
        Assert.Equal("blocks", (string)gemm["format"]!);
        Assert.True((double)gemm["dense_microseconds"]! > 0);
        Assert.All(layers.Where(l => (string)l!["op_type"]! == "Conv"), l => Assert.Equal("not a 1x1 convolution", (string)l!["reason"]!));

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var variant = manifest["variants"]!.AsArray().Single(v => (string)v!["id"]! == "block80-sparse")!;
        Assert.Equal(SparseOpsLibrary.FileName, (string)variant["custom_op_libraries"]![0]!);
        Assert.InRange((double)variant["sparsity"]!, 0.5, 0.9); // the pruned model's zeros, not the lowered graph's dense remainder
        Assert.True(File.Exists(Path.Combine(bundle, SparseOpsLibrary.FileName)));
        var eval = await Cli.RunAsync("eval", bundle, "--data", Npy(temp), "--variant", "block80-sparse");
        Assert.True(eval.ExitCode == 0, eval.ToString());
    }

    [Fact]
    public async Task Bad_arguments_are_errors_naming_the_problem()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var missing = await Cli.RunAsync("sparsify", model, "--library", temp.File("nope.so"), "-o", temp.File("out.onnx"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("nope.so' does not exist", missing.Error);

        string library = SparseOpsLibrary.Require();
        var format = await Cli.RunAsync("sparsify", model, "--library", library, "-o", temp.File("out.onnx"), "--formats", "coo");
        Assert.NotEqual(0, format.ExitCode);
        Assert.Contains("--formats 'coo'", format.Error);
    }

    private static string Npy(TempDirectory temp)
    {
        // Eight random images: eval compares the variant with the reference, no labels needed.
        var random = new Random(5);
        var pixels = new float[8 * 28 * 28];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = random.NextSingle();
        }
        string path = temp.File("images.npy");
        EdgeRuntime.Data.NpyFile.Save(path, EdgeRuntime.Data.NpyArray.FromValues<float>(pixels, [8, 1, 28, 28]));
        return path;
    }
}
