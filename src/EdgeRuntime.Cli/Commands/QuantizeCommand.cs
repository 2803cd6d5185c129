using System.CommandLine;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Compression.Quantization.WeightOnly;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

internal static class QuantizeCommand
{
    public sealed record QuantizeReport(string Input, string Output, string Mode, long InputBytes, long OutputBytes, double SizeRatio,
        int QuantizedNodes, IReadOnlyList<string> FloatNodes, IReadOnlyList<string> Applied, IReadOnlyList<string> Warnings);

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
        foreach (var option in new Option[] { mode, output, calib, calibLimit, method, percentile, weightRange, target, perTensor, noBiasCorrection, exclude, errorBudget, blockSize, gptq, batchAxis, addTo, id, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(result =>
        {
            var source = result.GetValue(input)!;
            var destination = result.GetValue(output)!;
            if (!source.Exists)
            {
                throw new CliError($"model file '{source.FullName}' does not exist");
            }
            var quantizationMode = QuantizationModes.Parse(result.GetValue(mode)!);
            var model = OnnxModel.Load(source.FullName);
            Action<string>? log = result.GetValue(json) ? null : line => context.Error.WriteLine(line);
            QuantizationResult quantized = quantizationMode switch
            {
                QuantizationMode.Int8Static => StaticInt8Quantizer.Quantize(
                    model,
                    LoadCalibration(source.FullName, result.GetValue(calib) ?? [], result.GetValue(calibLimit), DiffCommand.ParseBatchAxes(result.GetValue(batchAxis) ?? []))
                        ?? throw new CliError("int8-static needs calibration data: --calib X.npy (or NAME=X.npy per input, or fashion-mnist)"),
                    new StaticQuantizeOptions
                    {
                        Calibration = new CalibrationOptions
                        {
                            Method = ParseMethod(result.GetValue(method)!),
                            Percentile = result.GetValue(percentile),
                        },
                        WeightRange = ParseRange(result.GetValue(weightRange)!),
                        TargetPlatform = result.GetValue(target),
                        PerChannel = !result.GetValue(perTensor),
                        BiasCorrection = !result.GetValue(noBiasCorrection),
                        Exclude = result.GetValue(exclude) ?? [],
                        ErrorBudget = result.GetValue(errorBudget),
                    },
                    log),
                QuantizationMode.Fp16 => Fp16Converter.Convert(model, new Fp16Options { ExcludedNodes = result.GetValue(exclude) ?? [] }),
                QuantizationMode.Int8Dynamic => DynamicInt8Quantizer.Quantize(model, new DynamicOptions
                {
                    PerChannel = !result.GetValue(perTensor),
                    WeightRange = ParseRange(result.GetValue(weightRange)!),
                    ExcludedNodes = result.GetValue(exclude) ?? [],
                }),
                QuantizationMode.Int4Weight => Int4WeightQuantizer.Quantize(
                    model,
                    new Int4Options
                    {
                        BlockSize = result.GetValue(blockSize),
                        Algorithm = result.GetValue(gptq) ? Int4Algorithm.Gptq : Int4Algorithm.RoundToNearest,
                        ExcludedNodes = result.GetValue(exclude) ?? [],
                    },
                    result.GetValue(gptq)
                        ? LoadCalibration(source.FullName, result.GetValue(calib) ?? [], result.GetValue(calibLimit), DiffCommand.ParseBatchAxes(result.GetValue(batchAxis) ?? []))
                            ?? throw new CliError("--gptq needs calibration data: --calib X.npy (or NAME=X.npy per input)")
                        : null),
                _ => throw new CliError($"mode {quantizationMode.ToName()} is not available in this build"),
            };
            quantized.Model.Save(destination.FullName);
            foreach (string warning in quantized.Warnings)
            {
                context.Error.WriteLine($"warning: {warning}");
            }
            if (result.GetValue(addTo) is string bundle)
            {
                BundleBuilder.Add(bundle, new VariantSource(result.GetValue(id) ?? quantizationMode.ToName(), destination.FullName)
                {
                    Precision = quantizationMode.ToName(),
                    Applied = quantized.Applied,
                    FloatNodes = quantized.FloatNodes,
                });
            }
            long inBytes = source.Length, outBytes = new FileInfo(destination.FullName).Length;
            if (outBytes >= inBytes && !result.GetValue(json))
            {
                // Written (some nodes did change) but not smaller: say so rather than let it pass as a compressed variant.
                context.Error.WriteLine($"warning: the {quantizationMode.ToName()} model is not smaller than the original ({Formatting.Bytes(outBytes)} vs {Formatting.Bytes(inBytes)}): most weights stay float (see the warnings above)");
            }
            var report = new QuantizeReport(source.FullName, destination.FullName, quantizationMode.ToName(), inBytes, outBytes,
                Math.Round((double)outBytes / inBytes, 4), quantized.QuantizedNodes, quantized.FloatNodes, quantized.Applied, quantized.Warnings);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                context.Out.WriteLine($"wrote {destination.FullName}: {Formatting.Bytes(outBytes)} ({report.SizeRatio:P1} of {Formatting.Bytes(inBytes)}), {report.QuantizedNodes} node(s) quantized");
                foreach (string line in quantized.Applied)
                {
                    context.Out.WriteLine($"  {line}");
                }
                if (quantized.FloatNodes.Count > 0)
                {
                    context.Out.WriteLine($"  kept in float: {string.Join(", ", quantized.FloatNodes)}");
                }
            }
            return 0;
        });
        return command;
    }

    /// <summary>Calibration batches from .npy files (one per input) or a known dataset; null when none given.</summary>
    internal static CalibrationData? LoadCalibration(string modelPath, IReadOnlyList<string> specs, int? limit, IReadOnlyDictionary<string, int>? batchAxes = null)
    {
        if (specs.Count == 0)
        {
            return null;
        }
        var (inputs, _) = OrtSignatures.ReadFromFile(modelPath);
        if (specs.Count == 1 && DatasetCatalog.IsKnown(specs[0]))
        {
            return CalibrationData.FromDataset(DatasetCatalog.Resolve(specs[0]), inputs, limit: limit ?? 1000);
        }
        var files = new Dictionary<string, string>();
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            string name = equals > 0 ? spec[..equals] : inputs.Count == 1 ? inputs[0].Name : throw new CliError($"the model has {inputs.Count} inputs: give --calib NAME=FILE.npy for each");
            string file = equals > 0 ? spec[(equals + 1)..] : spec;
            if (!File.Exists(file))
            {
                throw new CliError($"calibration file '{file}' does not exist");
            }
            files[name] = file;
        }
        return CalibrationData.FromNpy(files, inputs, limit: limit, batchAxes: batchAxes);
    }

    private static CalibrationMethod ParseMethod(string name) => name.ToLowerInvariant() switch
    {
        "entropy" or "kl" => CalibrationMethod.Entropy,
        "percentile" => CalibrationMethod.Percentile,
        "minmax" => CalibrationMethod.MinMax,
        _ => throw new CliError($"--method '{name}': expected entropy, percentile or minmax"),
    };

    private static Int8WeightRange ParseRange(string name) => name.ToLowerInvariant() switch
    {
        "auto" => Int8WeightRange.Auto,
        "full" => Int8WeightRange.Full,
        "reduced" => Int8WeightRange.Reduced,
        _ => throw new CliError($"--weight-range '{name}': expected auto, full or reduced"),
    };
}
