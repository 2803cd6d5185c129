using System.CommandLine;
using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Compression.Pipelines;

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
        command.AddOptions(output, opset, check, samples, tolerance, json);
        command.SetAction(result =>
        {
            var report = UpgradePipeline.Run(result.GetValue(input)!.FullName, result.GetValue(output)!.FullName, result.GetValue(opset), result.GetValue(check) ?? [],
                result.GetValue(samples), result.GetValue(tolerance));
            context.Write(result.GetValue(json), report, UpgradePipeline.WriteText);
            return 0;
        });
        return command;
    }
}
