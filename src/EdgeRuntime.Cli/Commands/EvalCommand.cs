using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Reporting;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Cli.Commands;

internal static class EvalCommand
{
    public static Command Create(CliContext context)
    {
        var path = new Argument<string>("model") { Description = "An .onnx file or a bundle directory" };
        var data = new DataOptions();
        var batch = new Option<int>("--batch") { Description = "Samples per inference where the model's batch is open", DefaultValueFactory = _ => 64 };
        var variants = new Option<string[]>("--variant") { Description = "Evaluate only these variants (repeatable)", AllowMultipleArgumentsPerToken = true };
        var json = CliOutput.Json();
        var command = new Command("eval", "Measure top-1 per variant against labels, and fidelity to the reference variant");
        command.Arguments.Add(path);
        data.AddTo(command);
        command.Options.Add(batch);
        command.Options.Add(variants);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var (dataset, labelled, name) = data.Load(result);
            var bundle = ModelBundle.OpenPath(result.GetValue(path)!);
            using var runtime = ModelRuntime.Open(bundle);
            var chosen = result.GetValue(variants);
            var report = Evaluator.Evaluate(runtime, dataset, labelled, new EvalOptions
            {
                BatchSize = result.GetValue(batch),
                Limit = result.GetValue(data.Limit),
                Variants = chosen is { Length: > 0 } ? chosen : null,
            }, name);
            context.Write(result.GetValue(json), report, (writer, r) => Print(writer, r, bundle));
            return report.Variants.Any(v => v.Error is not null) ? 1 : 0;
        });
        return command;
    }

    public static void Print(TextWriter output, EvalReport report, ModelBundle bundle)
    {
        output.WriteLine($"{report.Model} on {report.Dataset}: {report.Samples} samples, batch {report.BatchSize}, output '{report.OutputName}', reference '{report.ReferenceVariant}'");
        var table = new TextTable("variant", "precision", "top-1", "agreement", "cosine", "mean|err|", "max|err|", "samples/s", "error");
        foreach (var v in report.Variants)
        {
            table.Add(v.Variant, bundle[v.Variant].Manifest.Precision, Formatting.Percent(v.Top1), Formatting.Percent(v.Agreement),
                v.MeanCosine?.ToString("0.000000", System.Globalization.CultureInfo.InvariantCulture), v.MeanAbsError, v.MaxAbsError, Math.Round(v.SamplesPerSecond), v.Error);
        }
        table.WriteTo(output);
    }
}
