using System.CommandLine;
using EdgeRuntime.Compression.Specialization;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert specialize`: fixes inputs a deployment never varies and folds the If branches they decide.</summary>
internal static class SpecializeCommand
{
    public sealed record SpecializeReport(string Input, string Output, IReadOnlyList<string> FixedInputs, IReadOnlyList<string> InlinedIfs,
        int FoldedNodes, int RemovedNodes, long InputBytes, long OutputBytes);

    public static Command Create(CliContext context)
    {
        var model = new Argument<FileInfo>("model") { Description = "The .onnx model" };
        var inputs = new Option<string[]>("--input")
        {
            Description = "NAME=VALUE: fix this input (e.g. sr=16000; several values comma-separated); repeatable",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the specialised model", Required = true };
        var json = CliOutput.Json();
        var command = new Command("specialize", "Fix inputs to constant values: If nodes they decide become the branch taken, constants fold, dead branches go");
        command.Arguments.Add(model);
        command.Options.Add(inputs);
        command.Options.Add(output);
        command.Options.Add(json);
        command.SetAction(result =>
        {
            var source = result.GetValue(model)!;
            if (!source.Exists)
            {
                throw new CliError($"model file '{source.FullName}' does not exist");
            }
            var values = ParseFixedInputs(result.GetValue(inputs) ?? [], "--input");
            var specialized = ModelSpecializer.Specialize(OnnxModel.Load(source.FullName), values);
            if (specialized.InlinedIfs.Count == 0 && specialized.FoldedNodes == 0)
            {
                // The model would only lose the inputs: not a variant worth writing.
                throw new CliError($"nothing to specialize: no If condition and no node depends on {string.Join(", ", values.Keys)} alone");
            }
            var destination = result.GetValue(output)!;
            specialized.Model.Save(destination.FullName);
            var report = new SpecializeReport(source.FullName, destination.FullName, [.. values.Select(p => $"{p.Key}={p.Value}")], specialized.InlinedIfs,
                specialized.FoldedNodes, specialized.RemovedNodes, source.Length, new FileInfo(destination.FullName).Length);
            context.Write(result.GetValue(json), report, (output, r) =>
            {
                output.WriteLine($"wrote {r.Output}: {Formatting.Bytes(r.OutputBytes)} ({(double)r.OutputBytes / r.InputBytes:P1} of {Formatting.Bytes(r.InputBytes)}) for {string.Join(", ", r.FixedInputs)}");
                output.WriteLine(string.Concat(specialized.InlinedIfs.Select(inlined => $"  {inlined}{Environment.NewLine}")) +
                    $"  {specialized.FoldedNodes} node(s) folded to constants, {specialized.RemovedNodes} node(s) fewer in all (dead branches included)");
            });
            return 0;
        });
        return command;
    }

    /// <summary>NAME=VALUE pairs of inputs to fix, as given to <paramref name="option"/>.</summary>
    internal static Dictionary<string, string> ParseFixedInputs(IEnumerable<string> specs, string option)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            if (equals <= 0 || equals == spec.Length - 1)
            {
                throw new CliError($"{option} '{spec}': expected NAME=VALUE, e.g. sr=16000");
            }
            if (!values.TryAdd(spec[..equals], spec[(equals + 1)..]))
            {
                throw new CliError($"{option}: '{spec[..equals]}' is given twice");
            }
        }
        return values;
    }
}
