using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Quantization;
using EdgeRuntime.Compression.Quantization.Dynamic;
using EdgeRuntime.Compression.Quantization.Fp16;
using EdgeRuntime.Compression.Quantization.Static;
using EdgeRuntime.Compression.Quantization.WeightOnly;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pipelines;

/// <summary>What `edgert quantize` was asked for.</summary>
public sealed record QuantizeRequest(string Input, string Output, string Mode)
{
    public IReadOnlyList<string> Calibration { get; init; } = [];
    public int? CalibrationLimit { get; init; }
    public IReadOnlyList<string> BatchAxes { get; init; } = [];
    public string Method { get; init; } = "percentile";
    public double Percentile { get; init; } = 99.999;
    public string WeightRange { get; init; } = "auto";
    public string? TargetPlatform { get; init; }
    public bool PerTensor { get; init; }
    public bool NoBiasCorrection { get; init; }
    public IReadOnlyList<string> Exclude { get; init; } = [];
    public double? ErrorBudget { get; init; }
    public int BlockSize { get; init; } = 32;
    public bool Gptq { get; init; }
    public string? AddTo { get; init; }
    public string? VariantId { get; init; }
}

public sealed record QuantizeReport(string Input, string Output, string Mode, long InputBytes, long OutputBytes, double SizeRatio,
    int QuantizedNodes, IReadOnlyList<string> FloatNodes, IReadOnlyList<string> Applied, IReadOnlyList<string> Warnings);

/// <summary>Quantize a model in one mode (fp16, int8 dynamic or static, int4 weights), save it, and add it to a bundle.</summary>
public static class QuantizePipeline
{
    /// <param name="log">Progress lines (null: quiet).</param>
    /// <param name="notice">Warnings the user must see even when the report is JSON.</param>
    public static QuantizeReport Run(QuantizeRequest request, Action<string>? log, Action<string> notice)
    {
        if (!File.Exists(request.Input))
        {
            throw new ArgumentException($"model file '{request.Input}' does not exist");
        }
        var mode = QuantizationModes.Parse(request.Mode);
        var model = OnnxModel.Load(request.Input);
        string[] exclude = [.. request.Exclude];
        QuantizationResult quantized = mode switch
        {
            QuantizationMode.Int8Static => StaticInt8Quantizer.Quantize(
                model,
                Calibration(request) ?? throw new ArgumentException("int8-static needs calibration data: --calib X.npy (or NAME=X.npy per input, or fashion-mnist)"),
                new StaticQuantizeOptions
                {
                    Calibration = new CalibrationOptions { Method = ParseMethod(request.Method), Percentile = request.Percentile },
                    WeightRange = ParseRange(request.WeightRange),
                    TargetPlatform = request.TargetPlatform,
                    PerChannel = !request.PerTensor,
                    BiasCorrection = !request.NoBiasCorrection,
                    Exclude = exclude,
                    ErrorBudget = request.ErrorBudget,
                },
                log),
            QuantizationMode.Fp16 => Fp16Converter.Convert(model, new Fp16Options { ExcludedNodes = exclude }),
            QuantizationMode.Int8Dynamic => DynamicInt8Quantizer.Quantize(model, new DynamicOptions
            {
                PerChannel = !request.PerTensor,
                WeightRange = ParseRange(request.WeightRange),
                ExcludedNodes = exclude,
            }),
            QuantizationMode.Int4Weight => Int4WeightQuantizer.Quantize(
                model,
                new Int4Options
                {
                    BlockSize = request.BlockSize,
                    Algorithm = request.Gptq ? Int4Algorithm.Gptq : Int4Algorithm.RoundToNearest,
                    ExcludedNodes = exclude,
                },
                request.Gptq ? Calibration(request) ?? throw new ArgumentException("--gptq needs calibration data: --calib X.npy (or NAME=X.npy per input)") : null),
            _ => throw new ArgumentException($"mode {mode.ToName()} is not available in this build"),
        };
        quantized.Model.Save(request.Output);
        foreach (string warning in quantized.Warnings)
        {
            notice($"warning: {warning}");
        }
        if (request.AddTo is string bundle)
        {
            BundleBuilder.Add(bundle, new VariantSource(request.VariantId ?? mode.ToName(), request.Output)
            {
                Precision = mode.ToName(),
                Applied = quantized.Applied,
                FloatNodes = quantized.FloatNodes,
            });
        }
        long inBytes = new FileInfo(request.Input).Length, outBytes = new FileInfo(request.Output).Length;
        if (outBytes >= inBytes && log is not null)
        {
            // Written (some nodes did change) but not smaller: say so rather than let it pass as a compressed variant.
            notice($"warning: the {mode.ToName()} model is not smaller than the original ({Formatting.Bytes(outBytes)} vs {Formatting.Bytes(inBytes)}): most weights stay float (see the warnings above)");
        }
        return new QuantizeReport(request.Input, request.Output, mode.ToName(), inBytes, outBytes,
            Math.Round((double)outBytes / inBytes, 4), quantized.QuantizedNodes, quantized.FloatNodes, quantized.Applied, quantized.Warnings);
    }

    public static void WriteText(TextWriter output, QuantizeReport report)
    {
        output.WriteLine($"wrote {report.Output}: {Formatting.Bytes(report.OutputBytes)} ({report.SizeRatio:P1} of {Formatting.Bytes(report.InputBytes)}), {report.QuantizedNodes} node(s) quantized");
        foreach (string line in report.Applied)
        {
            output.WriteLine($"  {line}");
        }
        if (report.FloatNodes.Count > 0)
        {
            output.WriteLine($"  kept in float: {string.Join(", ", report.FloatNodes)}");
        }
    }

    private static CalibrationData? Calibration(QuantizeRequest request) =>
        CalibrationSources.Load(request.Input, request.Calibration, request.CalibrationLimit, CalibrationSources.ParseBatchAxes(request.BatchAxes));

    private static CalibrationMethod ParseMethod(string name) => name.ToLowerInvariant() switch
    {
        "entropy" or "kl" => CalibrationMethod.Entropy,
        "percentile" => CalibrationMethod.Percentile,
        "minmax" => CalibrationMethod.MinMax,
        _ => throw new ArgumentException($"--method '{name}': expected entropy, percentile or minmax"),
    };

    private static Int8WeightRange ParseRange(string name) => name.ToLowerInvariant() switch
    {
        "auto" => Int8WeightRange.Auto,
        "full" => Int8WeightRange.Full,
        "reduced" => Int8WeightRange.Reduced,
        _ => throw new ArgumentException($"--weight-range '{name}': expected auto, full or reduced"),
    };
}
