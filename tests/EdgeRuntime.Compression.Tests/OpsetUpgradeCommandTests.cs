using System.Text.Json;
using EdgeRuntime.Cli;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>`edgert upgrade`, run in-process.</summary>
public sealed class OpsetUpgradeCommandTests
{
    [Fact]
    public async Task Upgrades_checks_on_data_and_reports_the_rewrites()
    {
        using var temp = new TempDirectory();
        string input = ClipModel(temp.File("old.onnx"));
        string data = Ort.SaveNpy(temp.File("x.npy"), OpsetModels.Values(40, seed: 3), 5, 8);
        string output = temp.File("new.onnx");

        var (code, stdout, stderr) = await RunAsync("upgrade", input, "-o", output, "--check", data, "--json");

        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal(9, report.RootElement.GetProperty("from_opset").GetInt64());
        Assert.Equal(13, report.RootElement.GetProperty("to_opset").GetInt64());
        Assert.Equal(1, report.RootElement.GetProperty("rewrites_by_op").GetProperty("Clip").GetInt32());
        Assert.Equal(5, report.RootElement.GetProperty("check").GetProperty("samples").GetInt32());
        Assert.Equal(0.0, report.RootElement.GetProperty("check").GetProperty("outputs")[0].GetProperty("max_abs_difference").GetDouble());
        Assert.Equal(13, OnnxModel.Load(output).OpsetFor(""));
    }

    [Fact]
    public async Task Prints_a_table_of_rewrites()
    {
        using var temp = new TempDirectory();
        string input = ClipModel(temp.File("old.onnx"));

        var (code, stdout, _) = await RunAsync("upgrade", input, "-o", temp.File("new.onnx"), "--opset", "12");

        Assert.Equal(0, code);
        Assert.Contains("opset 9 -> 12", stdout);
        Assert.Matches(@"Clip\s+11\s+1\s+attribute min=0 and max=0.5 moved to inputs", stdout);
    }

    [Fact]
    public async Task Refuses_naming_the_node_and_writes_nothing()
    {
        using var temp = new TempDirectory();
        var (model, graph) = OpsetModels.Create(9, ("x", [2]), ("y", [2]));
        graph.AddNode("Crop", ["x"], ["y"], "crop");
        model.Save(temp.File("old.onnx"));

        var (code, _, stderr) = await RunAsync("upgrade", temp.File("old.onnx"), "-o", temp.File("new.onnx"));

        Assert.Equal(1, code);
        Assert.Contains("node 'crop' (Crop)", stderr);
        Assert.False(File.Exists(temp.File("new.onnx")));
    }

    [Fact]
    public async Task Check_data_that_does_not_fit_the_model_is_a_clear_error()
    {
        using var temp = new TempDirectory();
        string input = ClipModel(temp.File("old.onnx"));
        NpyFile.Save(temp.File("ids.npy"), NpyArray.FromValues<long>([1, 2, 3], 3, 1));

        var (code, _, stderr) = await RunAsync("upgrade", input, "-o", temp.File("new.onnx"), "--check", temp.File("ids.npy"));

        Assert.Equal(1, code);
        Assert.Contains("the data for 'x' is Int64, but the model takes Float", stderr);
        Assert.False(File.Exists(temp.File("new.onnx")));
    }

    [Fact]
    public async Task A_missing_input_file_is_a_clear_error()
    {
        using var temp = new TempDirectory();

        var (code, _, stderr) = await RunAsync("upgrade", temp.File("absent.onnx"), "-o", temp.File("new.onnx"));

        Assert.Equal(1, code);
        Assert.Contains("does not exist", stderr);
    }

    private static string ClipModel(string path)
    {
        var (model, graph) = OpsetModels.Create(9, ("x", null), ("y", null));
        graph.AddNode("Clip", ["x"], ["y"], "clip").SetFloat("min", 0f).SetFloat("max", 0.5f);
        model.Save(path);
        return path;
    }

    internal static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await EdgertCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
