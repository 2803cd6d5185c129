using System.CommandLine;
using System.Globalization;
using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Diff;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert diff`: a candidate model's outputs against a reference's on the same inputs (TFLite's inference_diff).</summary>
internal static class DiffCommand
{
    public static Command Create(CliContext context)
    {
        var reference = new Argument<string>("reference") { Description = "The reference .onnx model (e.g. the fp32 original)" };
        var candidate = new Argument<string>("candidate") { Description = "The .onnx model to compare with it (e.g. a quantized variant)" };
        var data = new Option<string[]>("--data")
        {
            Description = "Inputs as .npy, samples along the first axis: FILE.npy for a single-input model, or NAME=FILE.npy per input (repeatable)",
            Required = true,
        };
        var limit = new Option<int?>("--limit") { Description = "Compare only the first N samples" };
        var batch = new Option<int>("--batch") { Description = "Samples per inference where the batch dimension is open", DefaultValueFactory = _ => 32 };
        var batchAxis = CreateBatchAxisOption();
        var json = CliOutput.Json();
        var command = new Command("diff", "Per output of the candidate: mean / std / max absolute error, cosine similarity and top-1 agreement against the reference");
        command.Arguments.Add(reference);
        command.Arguments.Add(candidate);
        command.Options.Add(data);
        command.Options.Add(limit);
        command.Options.Add(batch);
        command.Options.Add(batchAxis);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var files = ParseData(result.GetValue(data) ?? []);
            var report = ModelDiff.Compare(
                result.GetValue(reference)!,
                result.GetValue(candidate)!,
                files,
                new DiffOptions { BatchSize = result.GetValue(batch), Limit = result.GetValue(limit), BatchAxes = CalibrationSources.ParseBatchAxes(result.GetValue(batchAxis) ?? []) });
            context.Write(result.GetValue(json), report, Print);
            return 0;
        });
        return command;
    }

    public static void Print(TextWriter output, DiffReport report)
    {
        output.WriteLine($"{report.Candidate} against {report.Reference} on {report.Data}, batch {report.BatchSize}");
        var table = new TextTable("output", "type", "samples", "mean|err|", "std|err|", "max|err|", "mean err", "cosine", "min cosine", "top-1 agree");
        foreach (var o in report.Outputs)
        {
            table.Add(o.Name, o.ElementType, o.Samples, Scientific(o.MeanAbsError), Scientific(o.StdAbsError), Scientific(o.MaxAbsError), Scientific(o.MeanError),
                o.MeanCosine.ToString("0.000000", CultureInfo.InvariantCulture), o.MinCosine.ToString("0.000000", CultureInfo.InvariantCulture), Formatting.Percent(o.Top1Agreement));
        }
        table.WriteTo(output);
    }

    /// <summary>--batch-axis NAME=K, shared by the commands that feed .npy samples to a model.</summary>
    internal static Option<string[]> CreateBatchAxisOption() => new("--batch-axis")
    {
        Description = "NAME=K: the samples of input NAME go on its axis K (e.g. state=1 for a [layers, batch, hidden] state); repeatable. Default: inferred from the model's symbolic dims, else 0",
        AllowMultipleArgumentsPerToken = true,
    };

    /// <summary>FILE.npy, or NAME=FILE.npy for one input of a multi-input model.</summary>
    internal static Dictionary<string, string> ParseData(IEnumerable<string> specs)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            string name = equals > 0 ? spec[..equals] : "";
            string path = equals > 0 ? spec[(equals + 1)..] : spec;
            if (path.Length == 0)
            {
                throw new CliError($"--data '{spec}': expected FILE.npy or NAME=FILE.npy");
            }
            if (!files.TryAdd(name, path))
            {
                throw new CliError(name.Length == 0
                    ? "--data: give one unnamed file for a single-input model, or NAME=FILE.npy for each input"
                    : $"--data: input '{name}' is given twice");
            }
        }
        return files;
    }

    private static string Scientific(double value) =>
        value == 0 ? "0" : value.ToString(Math.Abs(value) >= 1e-3 ? "0.000000" : "0.000e+0", CultureInfo.InvariantCulture);
}
