using System.CommandLine;
using System.Globalization;
using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert upgrade`: raise a model's opset, rewriting the operators whose signature changed.</summary>
internal static class UpgradeCommand
{
    public static Command Create(CliContext context)
    {
        var input = new Argument<FileInfo>("model") { Description = "The .onnx model to upgrade" };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the upgraded model", Required = true };
        var opset = new Option<long>("--opset") { Description = $"Target opset of the standard domain ({OpsetUpgrader.MinimumSourceOpset}-{OpsetUpgrader.MaximumTargetOpset})", DefaultValueFactory = _ => OpsetUpgrader.DefaultTargetOpset };
        var check = new Option<string[]>("--check") { Description = "Compare both models in ONNX Runtime on these samples before writing: FILE.npy, or NAME=FILE.npy per input (repeatable)", AllowMultipleArgumentsPerToken = true };
        var samples = new Option<int>("--check-samples") { Description = "With --check: samples to compare", DefaultValueFactory = _ => 64 };
        var tolerance = new Option<double>("--tolerance") { Description = "With --check: largest absolute output difference accepted", DefaultValueFactory = _ => 1e-5 };
        var json = CliOutput.Json("Print the result as JSON");
        var command = new Command("upgrade", "Upgrade a model to a newer ONNX opset (default 13); refuses, naming the node, anything it cannot convert exactly");
        command.Arguments.Add(input);
        foreach (var option in new Option[] { output, opset, check, samples, tolerance, json })
        {
            command.Options.Add(option);
        }

        command.SetAction(result =>
        {
            var source = result.GetValue(input)!;
            var target = result.GetValue(output)!;
            if (!source.Exists)
            {
                throw new CliError($"model '{source.FullName}' does not exist");
            }

            var model = OnnxModel.Load(source.FullName);
            var upgrade = OpsetUpgrader.Upgrade(model, result.GetValue(opset));
            UpgradeCheck? verified = null;
            string[] checkData = result.GetValue(check) ?? [];
            if (checkData.Length > 0)
            {
                verified = UpgradeVerifier.Compare(model.ToBytes(), upgrade.Model.ToBytes(), LoadCheckData(checkData), result.GetValue(samples));
                if (verified.MaxAbsDifference > result.GetValue(tolerance))
                {
                    var worst = verified.Outputs.MaxBy(o => o.MaxAbsDifference)!;
                    throw new CliError(
                        $"the upgraded model differs from the original by up to {Format(worst.MaxAbsDifference)} on output '{worst.Output}' "
                        + $"({verified.Samples} samples), above the tolerance {Format(result.GetValue(tolerance))}; nothing was written");
                }
            }

            Save(upgrade.Model, target.FullName);
            var report = new UpgradeReport(
                source.FullName, target.FullName, upgrade.FromOpset, upgrade.ToOpset, upgrade.FromIrVersion, upgrade.ToIrVersion,
                upgrade.NodesChecked, upgrade.NodesRewritten, upgrade.ChangesByOpType, upgrade.Changes, verified);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(context.Out, report);
            }

            return 0;
        });
        return command;
    }

    private static void Save(OnnxModel model, string path)
    {
        if (model.HasExternalData && !string.Equals(Path.GetDirectoryName(path), model.BaseDirectory, StringComparison.Ordinal))
        {
            // External tensor files stay where they are; a copy elsewhere carries its weights inside.
            model.InternalizeExternalData();
        }

        model.Save(path);
    }

    private static Dictionary<string, NpyArray> LoadCheckData(string[] specs)
    {
        var data = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            string name = equals > 0 ? spec[..equals] : "";
            string file = equals > 0 ? spec[(equals + 1)..] : spec;
            if (!File.Exists(file))
            {
                throw new CliError($"--check: '{file}' does not exist");
            }

            if (equals <= 0 && specs.Length > 1)
            {
                throw new CliError("--check: with several files, name each one's input as NAME=FILE.npy");
            }

            data[name] = NpyFile.Load(file);
        }

        return data;
    }

    private static void Print(TextWriter output, UpgradeReport report)
    {
        output.WriteLine($"{Path.GetFileName(report.Input)}: opset {report.FromOpset} -> {report.ToOpset}, IR {report.FromIrVersion} -> {report.ToIrVersion}; "
            + $"{report.NodesChecked} standard nodes checked, {report.NodesRewritten} rewritten");
        if (report.Changes.Count > 0)
        {
            var table = new TextTable("op", "opset", "nodes", "rewrite");
            foreach (var group in report.Changes.GroupBy(c => (c.OpType, c.Opset, c.Description)).OrderBy(g => g.Key.Opset).ThenBy(g => g.Key.OpType, StringComparer.Ordinal))
            {
                table.Add(group.Key.OpType, group.Key.Opset, group.Count(), group.Key.Description);
            }

            table.WriteTo(output);
        }

        if (report.Check is { } check)
        {
            output.WriteLine($"check on {check.Samples} samples, max |difference| per output: "
                + string.Join(", ", check.Outputs.Select(o => $"{o.Output} {Format(o.MaxAbsDifference)}")));
        }

        output.WriteLine($"written to {report.Output}");
    }

    private static string Format(double value) => value.ToString("0.###E+0", CultureInfo.InvariantCulture);

    private sealed record UpgradeReport(
        string Input,
        string Output,
        long FromOpset,
        long ToOpset,
        long FromIrVersion,
        long ToIrVersion,
        int NodesChecked,
        int NodesRewritten,
        IReadOnlyDictionary<string, int> RewritesByOp,
        IReadOnlyList<OpsetChange> Changes,
        UpgradeCheck? Check);
}
