using System.CommandLine;
using EdgeRuntime.Compression.Pipelines;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Cli.Commands;

internal static class QuantizeCommand
{
    public static Command Create(CliContext context)
    {
        var input = new Argument<FileInfo>("model") { Description = "The fp32 .onnx model" };
        var mode = new Option<string>("--mode") { Description = "fp16 | int8-dynamic | int8-static | int4-weight", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the quantized model", Required = true };
        var calib = new Option<string[]>("--calib") { Description = "Calibration samples: X.npy, NAME=X.npy per input, or a dataset name (fashion-mnist)", AllowMultipleArgumentsPerToken = true };
        var calibLimit = new Option<int?>("--calib-limit") { Description = "Use only the first N calibration samples" };
        var method = new Option<string>("--method") { Description = "Calibration: percentile | entropy | minmax", DefaultValueFactory = _ => "percentile" };
        var percentile = new Option<double>("--percentile") { Description = "For --method percentile", DefaultValueFactory = _ => 99.999 };
        var weightRange = new Option<string>("--weight-range") { Description = "auto | full | reduced (auto: reduced on x86 without VNNI)", DefaultValueFactory = _ => "auto" };
        var target = new Option<string?>("--target") { Description = "Platform the variant is for: x86_64 | arm64 (default: this machine)" };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One weight scale per tensor instead of per channel" };
        var noBiasCorrection = new Option<bool>("--no-bias-correction") { Description = "Do not fold the weight rounding's mean shift into biases" };
        var exclude = new Option<string[]>("--exclude") { Description = "Node names or op types to keep in float (repeatable)", AllowMultipleArgumentsPerToken = true };
        var errorBudget = new Option<double?>("--error-budget") { Description = "Keep the most sensitive nodes in float until the relative output error fits (e.g. 0.001)" };
        var blockSize = new Option<int>("--block-size") { Description = "int4-weight: weights per quantization block (32, 64, 128)", DefaultValueFactory = _ => 32 };
        var gptq = new Option<bool>("--gptq") { Description = "int4-weight: compensate rounding error from calibration activations (GPTQ; needs --calib)" };
        var addTo = new Option<string?>("--add-to") { Description = "Also add the result to this bundle (checked, hashed, with what was applied)" };
        var id = new Option<string?>("--id") { Description = "Variant id for --add-to (default: the mode's name)" };
        var batchAxis = DiffCommand.CreateBatchAxisOption();
        var json = CliOutput.Json();
        var command = new Command("quantize", "Make a quantized variant of an fp32 model");
        command.Arguments.Add(input);
        command.AddOptions(mode, output, calib, calibLimit, method, percentile, weightRange, target, perTensor, noBiasCorrection, exclude, errorBudget, blockSize, gptq, batchAxis, addTo, id, json);
        command.SetAction(result =>
        {
            var request = new QuantizeRequest(result.GetValue(input)!.FullName, result.GetValue(output)!.FullName, result.GetValue(mode)!)
            {
                Calibration = result.GetValue(calib) ?? [], CalibrationLimit = result.GetValue(calibLimit), BatchAxes = result.GetValue(batchAxis) ?? [],
                Method = result.GetValue(method)!, Percentile = result.GetValue(percentile), WeightRange = result.GetValue(weightRange)!, TargetPlatform = result.GetValue(target),
                PerTensor = result.GetValue(perTensor), NoBiasCorrection = result.GetValue(noBiasCorrection), Exclude = result.GetValue(exclude) ?? [],
                ErrorBudget = result.GetValue(errorBudget), BlockSize = result.GetValue(blockSize), Gptq = result.GetValue(gptq), AddTo = result.GetValue(addTo), VariantId = result.GetValue(id),
            };
            var report = QuantizePipeline.Run(request, result.GetValue(json) ? null : context.Error.WriteLine, context.Error.WriteLine);
            context.Write(result.GetValue(json), report, QuantizePipeline.WriteText);
            return 0;
        });
        return command;
    }
}
