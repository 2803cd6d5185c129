using System.Text.Json;
using EdgeRuntime.Cli;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Data;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

public sealed class DiffTests
{
    [Fact]
    public void Identical_models_agree_exactly()
    {
        using var directory = new TempDirectory();
        var model = TestModels.Mlp([16, 32, 10]);
        string path = directory.File("model.onnx");
        model.Save(path);
        string data = Ort.SaveNpy(directory.File("x.npy"), Ort.RandomValues(50 * 16, seed: 1), 50, 16);

        var report = ModelDiff.Compare(path, path, new Dictionary<string, string> { [""] = data }, new DiffOptions { BatchSize = 16 });

        var output = Assert.Single(report.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal(50, report.Samples);
        Assert.Equal(50, output.Samples);
        Assert.Equal(0, output.MaxAbsError);
        Assert.Equal(0, output.MeanAbsError);
        Assert.Equal(1, output.MeanCosine, precision: 12);
        Assert.Equal(1, output.MinCosine, precision: 12);
        Assert.Equal(1, output.Top1Agreement);
    }

    [Fact]
    public void A_quantized_candidate_shows_small_errors_and_high_agreement()
    {
        using var directory = new TempDirectory();
        var model = TestModels.Mlp([32, 64, 10]);
        var quantized = DynamicInt8Quantizer.Quantize(model, new DynamicOptions()).Model;
        string data = Ort.SaveNpy(directory.File("x.npy"), Ort.RandomValues(64 * 32, seed: 2), 64, 32);

        var report = ModelDiff.Compare(model, quantized, new Dictionary<string, string> { ["x"] = data });

        var output = Assert.Single(report.Outputs);
        Assert.InRange(output.MaxAbsError, 1e-6, 0.1);
        Assert.True(output.StdAbsError > 0);
        Assert.InRange(output.MeanCosine, 0.999, 1.0);
        Assert.True(output.MinCosine <= output.MeanCosine);
        Assert.InRange(output.Top1Agreement!.Value, 0.9, 1.0);
    }

    [Fact]
    public void Data_of_the_wrong_shape_is_a_clear_error()
    {
        using var directory = new TempDirectory();
        var model = TestModels.Mlp([16, 4]);
        string data = Ort.SaveNpy(directory.File("wrong.npy"), new float[10 * 15], 10, 15);

        var error = Assert.Throws<InvalidDataException>(() => ModelDiff.Compare(model, model, new Dictionary<string, string> { [""] = data }));

        Assert.Contains("wrong.npy", error.Message);
        Assert.Contains("[15]", error.Message);
        Assert.Contains("input x: float32[batch,16]", error.Message);
    }

    [Fact]
    public void Float_data_for_an_integer_input_and_a_missing_input_file_are_clear_errors()
    {
        using var directory = new TempDirectory();
        var model = TwoInputs(idType: OnnxDataType.Int64);
        string floats = Ort.SaveNpy(directory.File("a.npy"), new float[6 * 4], 6, 4);
        string ids = directory.File("ids.npy");
        NpyFile.Save(ids, NpyArray.FromValues<long>(new long[6 * 4], 6, 4));

        var wrongType = Assert.Throws<InvalidDataException>(() => ModelDiff.Compare(model, model, new Dictionary<string, string> { ["a"] = floats, ["ids"] = floats }));
        var missing = Assert.Throws<ArgumentException>(() => ModelDiff.Compare(model, model, new Dictionary<string, string> { ["a"] = floats }));
        var unnamed = Assert.Throws<ArgumentException>(() => ModelDiff.Compare(model, model, new Dictionary<string, string> { [""] = floats }));
        var report = ModelDiff.Compare(model, model, new Dictionary<string, string> { ["a"] = floats, ["ids"] = ids });

        Assert.Contains("int64", wrongType.Message);
        Assert.Contains("'ids'", missing.Message);
        Assert.Contains("NAME=FILE.npy", unnamed.Message);
        Assert.Equal(6, report.Samples);
    }

    [Fact]
    public void A_fixed_batch_is_padded_and_padding_rows_are_not_counted()
    {
        using var directory = new TempDirectory();
        var model = FixedBatch(4);
        string data = Ort.SaveNpy(directory.File("x.npy"), Ort.RandomValues(5 * 8, seed: 3), 5, 8);

        var report = ModelDiff.Compare(model, model, new Dictionary<string, string> { [""] = data }, new DiffOptions { BatchSize = 100 });

        Assert.Equal(4, report.BatchSize);
        Assert.Equal(5, report.Outputs.Single().Samples);
    }

    [Fact]
    public async Task Edgert_diff_prints_a_table_and_json()
    {
        using var directory = new TempDirectory();
        var model = TestModels.Mlp([16, 10]);
        string reference = directory.File("fp32.onnx");
        string candidate = directory.File("int8.onnx");
        model.Save(reference);
        DynamicInt8Quantizer.Quantize(model, new DynamicOptions()).Model.Save(candidate);
        string data = Ort.SaveNpy(directory.File("x.npy"), Ort.RandomValues(20 * 16, seed: 4), 20, 16);

        var (textCode, text, _) = await RunAsync("diff", reference, candidate, "--data", data);
        var (jsonCode, json, _) = await RunAsync("diff", reference, candidate, "--data", $"x={data}", "--limit", "7", "--json");

        Assert.Equal(0, textCode);
        Assert.Contains("mean|err|", text);
        Assert.Contains("int8.onnx against fp32.onnx", text);
        Assert.Equal(0, jsonCode);
        using var document = JsonDocument.Parse(json);
        var output = document.RootElement.GetProperty("outputs")[0];
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.Equal(7, output.GetProperty("samples").GetInt32());
        Assert.True(output.GetProperty("mean_cosine").GetDouble() > 0.99);
    }

    [Fact]
    public async Task Edgert_diff_reports_bad_data_as_one_line_and_exit_code_1()
    {
        using var directory = new TempDirectory();
        string path = directory.File("model.onnx");
        TestModels.Mlp([16, 10]).Save(path);
        string data = Ort.SaveNpy(directory.File("bad.npy"), new float[3 * 7], 3, 7);

        var (code, _, error) = await RunAsync("diff", path, path, "--data", data);
        var (missingCode, _, missingError) = await RunAsync("diff", path, path, "--data", directory.File("absent.npy"));

        Assert.Equal(1, code);
        Assert.StartsWith("edgert: error:", error);
        Assert.Contains("bad.npy", error);
        Assert.Equal(1, missingCode);
        Assert.Contains("absent.npy", missingError);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await EdgertCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static OnnxModel TwoInputs(OnnxDataType idType)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("a", OnnxDataType.Float, "batch", 4));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("ids", idType, "batch", 4));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 4));
        graph.AddNode("Cast", ["ids"], ["ids_float"]).SetInt("to", (long)OnnxDataType.Float);
        graph.AddNode("Add", ["a", "ids_float"], ["y"]);
        return model;
    }

    private static OnnxModel FixedBatch(int batch)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, batch, 8));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, batch, 3));
        graph.AddInitializer(TensorData.Create(TestModels.Weights(8, 3, 8, 5), 8, 3).ToProto("w"));
        graph.AddNode("MatMul", ["x", "w"], ["y"]);
        return model;
    }
}
