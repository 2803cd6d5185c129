using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Cascade;
using EdgeRuntime.Evaluation.Cascade;
using EdgeRuntime.Reporting;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert cascade`: calibrate a cheap-then-strong cascade on evaluation data and report what it achieves.</summary>
internal static class CascadeCommand
{
    public static Command Create(CliContext context)
    {
        var bundlePath = new Argument<string>("bundle") { Description = "Bundle directory" };
        var cheap = new Option<string>("--cheap") { Description = "Variant that answers first", Required = true };
        var strong = new Option<string?>("--strong") { Description = "Variant that takes the unsure samples (default: the reference)" };
        var measure = new Option<string>("--measure") { Description = "top | margin | entropy", DefaultValueFactory = _ => "top" };
        var target = new Option<double>("--target-agreement") { Description = "Share of samples on which the cascade must agree with the strong variant", DefaultValueFactory = _ => 0.99 };
        var json = CliOutput.Json();
        var data = new DataOptions();
        var command = new Command("cascade", "Calibrate an input-adaptive cascade (cheap variant first, strong one when unsure) on half the data; report on the other half");
        command.Arguments.Add(bundlePath);
        command.AddOptions(cheap, strong, measure, target, json);
        data.AddTo(command);
        command.SetAction(result =>
        {
            var bundle = ModelBundle.Open(result.GetValue(bundlePath)!);
            var (dataset, labelled, _) = data.Load(result);
            var confidence = result.GetValue(measure) switch
            {
                "top" => ConfidenceMeasure.TopProbability,
                "margin" => ConfidenceMeasure.Margin,
                "entropy" => ConfidenceMeasure.Entropy,
                var other => throw new CliError($"--measure '{other}': expected top, margin or entropy"),
            };
            using var runtime = ModelRuntime.Open(bundle);
            var report = CascadeCalibrator.Calibrate(runtime, result.GetValue(cheap)!, result.GetValue(strong) ?? bundle.Manifest.ReferenceVariant,
                dataset, labelled, result.GetValue(target), confidence, limit: result.GetValue(data.Limit));
            context.Write(result.GetValue(json), report, (output, _) =>
            {
                output.WriteLine($"cascade {report.Cheap} → {report.Strong}: threshold {report.Threshold:F4} ({report.Measure}), calibrated on {report.CalibrationSamples}, tested on {report.TestSamples} samples");
                var table = new TextTable("what", "escalated", "agreement with strong", "top-1", "ms per sample", "cost vs strong");
                table.Add(report.Cheap, "-", null, Formatting.Percent(report.CheapTop1), report.CheapMs, report.StrongMs > 0 ? report.CheapMs / report.StrongMs : null);
                table.Add(report.Strong, "-", "100.00%", Formatting.Percent(report.StrongTop1), report.StrongMs, 1.0);
                table.Add("cascade", Formatting.Percent(report.EscalatedFraction), Formatting.Percent(report.AgreementWithStrong), Formatting.Percent(report.Top1), report.CascadeMs, report.CostRatio);
                table.WriteTo(output);
            });
            return 0;
        });
        return command;
    }
}
