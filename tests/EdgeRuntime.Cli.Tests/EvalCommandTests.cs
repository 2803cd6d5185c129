using System.Text.Json;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

public sealed class EvalCommandTests
{
    [Fact]
    public async Task Eval_of_the_fixture_reproduces_its_recorded_accuracy()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);

        var result = await Cli.RunAsync("eval", model, "--dataset", "fashion-mnist", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Output);
        Assert.Equal(10000, report.RootElement.GetProperty("samples").GetInt32());
        double top1 = report.RootElement.GetProperty("variants")[0].GetProperty("top1").GetDouble();
        Assert.InRange(top1, SampleModels.FashionCnnRecordedTop1() - 0.001, SampleModels.FashionCnnRecordedTop1() + 0.001);
    }

    [Fact]
    public async Task Eval_prints_a_table_by_default()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var result = await Cli.RunAsync("eval", model, "--dataset", "fashion-mnist", "--limit", "500");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("500 samples", result.Output);
        Assert.Contains("top-1", result.Output);
    }

    [Fact]
    public async Task Eval_feeds_npy_data_to_a_model_whose_batch_is_fixed_at_one()
    {
        Datasets.RequireFashionMnist();
        using var temp = new TempDirectory();
        string dynamicModel = SampleModels.WriteFashionCnn(temp.Path);
        // Same network with its batch dimension pinned to 1.
        var fixedModel = OnnxModel.Load(dynamicModel);
        foreach (var value in fixedModel.Graph.Inputs.Concat(fixedModel.Graph.Outputs))
        {
            var dim = value.Type.TensorType.Shape.Dim[0];
            dim.DimValue = 1;
        }
        string fixedPath = temp.File("fixed-batch.onnx");
        fixedModel.Save(fixedPath);

        var test = FashionMnist.Load(FashionMnistSplit.Test).Slice(0, 300);
        NpyFile.Save(temp.File("x.npy"), NpyArray.FromValues<float>(test.GetBatch(0, 300), [300, 1, 28, 28]));
        NpyFile.Save(temp.File("y.npy"), NpyArray.FromValues<long>(test.GetLabels(0, 300), [300]));

        var fixedRun = await Cli.RunAsync("eval", fixedPath, "--data", temp.File("x.npy"), "--labels", temp.File("y.npy"), "--json");
        var dynamicRun = await Cli.RunAsync("eval", dynamicModel, "--data", temp.File("x.npy"), "--labels", temp.File("y.npy"), "--json");

        Assert.True(fixedRun.ExitCode == 0, fixedRun.ToString());
        using var fixedReport = JsonDocument.Parse(fixedRun.Output);
        using var dynamicReport = JsonDocument.Parse(dynamicRun.Output);
        Assert.Equal(1, fixedReport.RootElement.GetProperty("batch_size").GetInt32());
        Assert.Equal(64, dynamicReport.RootElement.GetProperty("batch_size").GetInt32());
        Assert.Equal(
            dynamicReport.RootElement.GetProperty("variants")[0].GetProperty("top1").GetDouble(),
            fixedReport.RootElement.GetProperty("variants")[0].GetProperty("top1").GetDouble());
    }

    [Fact]
    public async Task Eval_without_labels_reports_fidelity_only()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var random = new Random(1);
        var pixels = new byte[20 * 784];
        random.NextBytes(pixels);
        NpyFile.Save(temp.File("raw.npy"), NpyArray.FromValues<byte>(pixels, [20, 784]));

        var result = await Cli.RunAsync("eval", model, "--data", temp.File("raw.npy"), "--scale", "0.00392157", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Output);
        Assert.False(report.RootElement.GetProperty("labelled").GetBoolean());
        var variant = report.RootElement.GetProperty("variants")[0];
        Assert.Equal(JsonValueKind.Null, variant.GetProperty("top1").ValueKind);
        Assert.Equal(20, variant.GetProperty("samples").GetInt32());
    }

    [Theory]
    [InlineData("nothing", "say what to evaluate on")]
    [InlineData("unknown-dataset", "unknown dataset 'mnist-9000'")]
    [InlineData("missing-model", "does not exist")]
    [InlineData("garbage-model", "garbage.onnx")]
    [InlineData("labels-mismatch", "y.npy")]
    [InlineData("wrong-shape", "do not fit input")]
    public async Task Eval_reports_bad_input_in_one_line(string kind, string expected)
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        File.WriteAllText(temp.File("garbage.onnx"), "this is not a model");
        NpyFile.Save(temp.File("x.npy"), NpyArray.Zeros(DataElementType.Float32, 4, 1, 28, 28));
        NpyFile.Save(temp.File("y.npy"), NpyArray.Zeros(DataElementType.Int64, 3));
        NpyFile.Save(temp.File("odd.npy"), NpyArray.Zeros(DataElementType.Float32, 4, 5));
        string[] args = kind switch
        {
            "nothing" => ["eval", model],
            "unknown-dataset" => ["eval", model, "--dataset", "mnist-9000"],
            "missing-model" => ["eval", temp.File("nope.onnx"), "--data", temp.File("x.npy")],
            "garbage-model" => ["eval", temp.File("garbage.onnx"), "--data", temp.File("x.npy")],
            "labels-mismatch" => ["eval", model, "--data", temp.File("x.npy"), "--labels", temp.File("y.npy")],
            _ => ["eval", model, "--data", temp.File("odd.npy")],
        };

        var result = await Cli.RunAsync(args);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("edgert: error:", result.Error);
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }
}
