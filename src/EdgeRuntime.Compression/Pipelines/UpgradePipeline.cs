using System.Globalization;
using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Data;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Pipelines;

public sealed record UpgradeReport(
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

/// <summary>`edgert upgrade`: raise the opset, optionally compare both models in ONNX Runtime, and write the result only when it agrees.</summary>
public static class UpgradePipeline
{
    /// <param name="check">FILE.npy, or NAME=FILE.npy per input: samples both models are compared on before anything is written.</param>
    public static UpgradeReport Run(string input, string output, long opset, IReadOnlyList<string> check, int samples, double tolerance)
    {
        if (!File.Exists(input))
        {
            throw new ArgumentException($"model '{input}' does not exist");
        }
        var model = OnnxModel.Load(input);
        var upgrade = OpsetUpgrader.Upgrade(model, opset);
        UpgradeCheck? verified = null;
        if (check.Count > 0)
        {
            verified = UpgradeVerifier.Compare(model.ToBytes(), upgrade.Model.ToBytes(), LoadCheckData(check), samples);
            if (verified.MaxAbsDifference > tolerance)
            {
                var worst = verified.Outputs.MaxBy(o => o.MaxAbsDifference)!;
                throw new InvalidDataException(
                    $"the upgraded model differs from the original by up to {Format(worst.MaxAbsDifference)} on output '{worst.Output}' "
                    + $"({verified.Samples} samples), above the tolerance {Format(tolerance)}; nothing was written");
            }
        }
        Save(upgrade.Model, output);
        return new UpgradeReport(
            input, output, upgrade.FromOpset, upgrade.ToOpset, upgrade.FromIrVersion, upgrade.ToIrVersion,
            upgrade.NodesChecked, upgrade.NodesRewritten, upgrade.ChangesByOpType, upgrade.Changes, verified);
    }

    public static void WriteText(TextWriter output, UpgradeReport report)
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

    private static void Save(OnnxModel model, string path)
    {
        if (model.HasExternalData && !string.Equals(Path.GetDirectoryName(path), model.BaseDirectory, StringComparison.Ordinal))
        {
            // External tensor files stay where they are; a copy elsewhere carries its weights inside.
            model.InternalizeExternalData();
        }
        model.Save(path);
    }

    private static Dictionary<string, NpyArray> LoadCheckData(IReadOnlyList<string> specs)
    {
        var data = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            string name = equals > 0 ? spec[..equals] : "";
            string file = equals > 0 ? spec[(equals + 1)..] : spec;
            if (!File.Exists(file))
            {
                throw new ArgumentException($"--check: '{file}' does not exist");
            }
            if (equals <= 0 && specs.Count > 1)
            {
                throw new ArgumentException("--check: with several files, name each one's input as NAME=FILE.npy");
            }
            data[name] = NpyFile.Load(file);
        }
        return data;
    }

    private static string Format(double value) => value.ToString("0.###E+0", CultureInfo.InvariantCulture);
}
