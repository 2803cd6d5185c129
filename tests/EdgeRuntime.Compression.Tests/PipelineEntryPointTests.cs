using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Pipelines;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Compression.Tests;

/// <summary>The entry points `edgert prune` and `quantize` call, on the fixture model.</summary>
public sealed class PipelineEntryPointTests
{
    [Fact]
    public void Batch_axes_are_parsed_and_bad_ones_named()
    {
        Assert.Equal(new Dictionary<string, int> { ["state"] = 1, ["x"] = 0 }, CalibrationSources.ParseBatchAxes(["state=1", "x=0"]));
        Assert.Contains("expected NAME=K", Assert.Throws<ArgumentException>(() => CalibrationSources.ParseBatchAxes(["state"])).Message);
        Assert.Contains("given twice", Assert.Throws<ArgumentException>(() => CalibrationSources.ParseBatchAxes(["s=1", "s=2"])).Message);
    }

    [Fact]
    public void Prune_refuses_bad_requests_before_writing_anything()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        string output = temp.File("pruned.onnx");
        var request = new PruneRequest(model, output, "magnitude") { LatencyCache = temp.File("latency") };
        Assert.Contains("--ratio 1.5", Assert.Throws<ArgumentException>(() => PrunePipeline.Run(request with { Ratio = 1.5 }, null, _ => { })).Message);
        Assert.Contains("--method 'lottery'", Assert.Throws<ArgumentException>(() => PrunePipeline.Run(request with { Method = "lottery" }, null, _ => { })).Message);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => PrunePipeline.Run(request with { Input = temp.File("missing.onnx") }, null, _ => { })).Message);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Magnitude_pruning_writes_the_model_and_reports_what_it_did()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var notices = new List<string>();
        var report = PrunePipeline.Run(new PruneRequest(model, temp.File("pruned.onnx"), "magnitude") { Ratio = 0.5, LatencyCache = temp.File("latency") }, null, notices.Add);
        Assert.True(File.Exists(report.Output));
        Assert.InRange(report.Sparsity, 0.45, 0.55);
        Assert.NotEmpty(report.Layers);
        Assert.Equal(report.InputMacs, report.OutputMacs);
        using var text = new StringWriter();
        PrunePipeline.WriteText(text, report);
        Assert.StartsWith($"wrote {report.Output}", text.ToString());
    }

    [Fact]
    public void Fp16_quantization_halves_the_weights_and_int8_static_needs_data()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var report = QuantizePipeline.Run(new QuantizeRequest(model, temp.File("fp16.onnx"), "fp16"), null, _ => { });
        Assert.Equal("fp16", report.Mode);
        Assert.InRange(report.SizeRatio, 0.4, 0.6);
        Assert.Contains("needs calibration data", Assert.Throws<ArgumentException>(() => QuantizePipeline.Run(new QuantizeRequest(model, temp.File("int8.onnx"), "int8-static"), null, _ => { })).Message);
    }
}
