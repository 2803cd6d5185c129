using System.CommandLine;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Ladder;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Compression.Pipelines;
using EdgeRuntime.Reporting;
using EdgeRuntime.Inference;
using ScottPlot;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert build`: the variant ladder of one fp32 model, evaluated, measured, Pareto-filtered and plotted.</summary>
internal static class BuildCommand
{
    public static Command Create(CliContext context)
    {
        var model = new Argument<FileInfo>("model") { Description = "The fp32 .onnx model" };
        var output = new Option<string>("--output", "-o") { Description = "New bundle directory", Required = true };
        var calib = new Option<string[]>("--calib") { Description = "Calibration samples: X.npy, NAME=X.npy per input, or a dataset name (fashion-mnist-train)", Required = true, AllowMultipleArgumentsPerToken = true };
        var levels = new Option<string>("--prune") { Description = "Structured pruning ratios, comma-separated", DefaultValueFactory = _ => "0.3,0.5,0.7" };
        var pruneSamples = new Option<int>("--prune-samples") { Description = "Calibration samples for pruning's reconstruction", DefaultValueFactory = _ => 4096 };
        var distillEpochs = new Option<int>("--distill-epochs") { Description = "Also train each pruned variant to the reference by gradient distillation for this many passes (0: reconstruction only)" };
        var deviceClass = new Option<string>("--device-class") { Description = "Name the measured latency is recorded under", DefaultValueFactory = _ => "this-machine" };
        var keepAll = new Option<bool>("--keep-dominated") { Description = "Keep variants that another beats on quality, latency and size" };
        var roundTo = new Option<int?>("--round-to") { Description = "Round the pruned rungs' kept channels to a multiple of this (1: no rounding; default: the multiple the channel probe measured on this device)" };
        var fasterMargin = new Option<double>("--faster-margin") { Description = "Drop a pruned rung that does not run in at most (1 - this) times its parent's latency", DefaultValueFactory = _ => Compression.Pruning.PruneSpeedCheck.DefaultMargin };
        var fixInputs = new Option<string[]>("--fix-input")
        {
            Description = "Specialise the model for a deployment that fixes this input first, e.g. --fix-input sr=16000 (repeatable): the ladder is made from the branch it will run, and the manifest records the value",
            AllowMultipleArgumentsPerToken = true,
        };
        var json = CliOutput.Json();
        var data = new DataOptions();
        var command = new Command("build", "Make the variant ladder (fp16, int8, structured-pruned levels, each pruned level in int8), evaluate and measure each, keep the Pareto front, plot it");
        command.Arguments.Add(model);
        command.AddOptions(output, calib, levels, pruneSamples, distillEpochs, deviceClass, keepAll, roundTo, fasterMargin, fixInputs, json);
        data.AddTo(command);
        command.SetAction(result =>
        {
            var source = result.GetValue(model)!;
            if (!source.Exists)
            {
                throw new CliError($"model file '{source.FullName}' does not exist");
            }
            var fixedInputs = SpecializeCommand.ParseFixedInputs(result.GetValue(fixInputs) ?? [], "--fix-input");
            using var specialized = fixedInputs.Count == 0 ? null : new TemporaryDirectory("edgert-build-");
            string modelPath = specialized is null ? source.FullName
                : LadderBuilder.Specialize(source.FullName, fixedInputs, specialized.Path, result.GetValue(json) ? null : line => context.Out.WriteLine(line));
            var specs = result.GetValue(calib) ?? [];
            var quantizeData = CalibrationSources.Load(modelPath, specs, 500) ?? throw new CliError("--calib is required");
            var pruneData = CalibrationSources.Load(modelPath, specs, result.GetValue(pruneSamples))!;
            var (dataset, labelled, name) = data.Load(result);
            double[] ratios;
            try
            {
                ratios = [.. result.GetValue(levels)!.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => double.Parse(r, System.Globalization.CultureInfo.InvariantCulture))];
            }
            catch (FormatException)
            {
                throw new CliError($"--prune '{result.GetValue(levels)}': expected ratios such as 0.3,0.5,0.7");
            }
            if (ratios.Any(r => r is <= 0 or >= 1))
            {
                throw new CliError("--prune ratios must be between 0 and 1");
            }
            if (result.GetValue(distillEpochs) is < 0 or > 10_000)
            {
                throw new CliError($"--distill-epochs {result.GetValue(distillEpochs)}: expected 0 (off) to 10000");
            }
            if (result.GetValue(fasterMargin) is var margin && (double.IsNaN(margin) || margin < 0 || margin >= 1))
            {
                throw new CliError($"--faster-margin {margin}: expected a fraction in [0, 1)");
            }
            var alignment = PrunePipeline.ChooseRoundTo(result.GetValue(roundTo), PruneCommand.LatencyCacheDirectory(null), result.GetValue(json) ? null : line => context.Error.WriteLine(line));
            string bundle = result.GetValue(output)!;
            var report = LadderBuilder.Build(modelPath, bundle, quantizeData, pruneData,
                new QualityData(dataset, labelled, name) { Limit = result.GetValue(data.Limit) },
                new LadderOptions { PruneRatios = ratios, PruneSamples = result.GetValue(pruneSamples), DistillEpochs = result.GetValue(distillEpochs), DeviceClass = result.GetValue(deviceClass)!, KeepDominated = result.GetValue(keepAll),
                    RoundTo = alignment.Multiple, FasterMargin = margin, FixedInputs = fixedInputs.Count > 0 ? fixedInputs : null },
                result.GetValue(json) ? null : line => context.Out.WriteLine(line));
            string plot = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(bundle))!, $"{Path.GetFileName(Path.GetFullPath(bundle))}-ladder.png");
            Plot(report, plot);
            context.Write(result.GetValue(json), report, (output, r) =>
            {
                r.WriteText(output);
                output.WriteLine($"bundle: {bundle} ({r.Rungs.Count(x => x.Kept)} variants); plot: {plot}");
            });
            return 0;
        });
        return command;
    }

    private static void Plot(LadderReport report, string path)
    {
        string? font = new[] { "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" }.FirstOrDefault(File.Exists);
        if (font is not null)
        {
            Fonts.AddFontFile("DejaVu Sans", font);
            Fonts.Default = "DejaVu Sans";
        }
        var plot = new Plot();
        long largest = Math.Max(1, report.Rungs.Max(r => r.SizeBytes));
        foreach (var rung in report.Rungs.Where(r => double.IsFinite(r.LatencyP50Ms)))
        {
            var marker = plot.Add.Marker(rung.LatencyP50Ms, (rung.Quality ?? 0) * 100);
            marker.Size = 6 + 24f * rung.SizeBytes / largest;
            marker.Shape = rung.Kept ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
            var label = plot.Add.Text(rung.Id, rung.LatencyP50Ms, (rung.Quality ?? 0) * 100);
            label.LabelFontSize = 12;
        }
        plot.Title("quality vs latency (marker area: file size; hollow: dropped)");
        plot.XLabel("p50 latency, ms (this machine, batch 1)");
        plot.YLabel($"{report.Metric}, %");
        plot.SavePng(path, 900, 500);
    }
}
