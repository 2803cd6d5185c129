using System.CommandLine;
using EdgeRuntime.Bundles;
using EdgeRuntime.Cli.Commands;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli;

/// <summary>`edgert`: one command-line front for the runtime and its tools.</summary>
public static class EdgertCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var context = new CliContext(output, error);
        var threads = new Option<int?>("--threads") { Description = "Intra-op threads in ONNX Runtime's shared pool (default: one per core)", Recursive = true };
        var root = new RootCommand("EdgeRuntime: serve compressed variants of one ONNX model and switch between them as the device demands");
        root.Options.Add(threads);
        root.Subcommands.Add(DemoCommand.Create(context));
        root.Subcommands.Add(BundleCommands.Create(context));
        root.Subcommands.Add(KeysCommand.Create(context));
        root.Subcommands.Add(DeployCommand.Create(context));
        root.Subcommands.Add(EvalCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        root.Subcommands.Add(DiffCommand.Create(context));
        root.Subcommands.Add(QuantizeCommand.Create(context));
        root.Subcommands.Add(PruneCommand.Create(context));
        root.Subcommands.Add(BenchPruneCommand.Create(context));
        root.Subcommands.Add(BenchKnobsCommand.Create(context));
        root.Subcommands.Add(BenchKnobsCommand.CreateMemory(context));
        root.Subcommands.Add(SparsifyCommand.Create(context));
        root.Subcommands.Add(SimulateCommand.Create(context));
        root.Subcommands.Add(TelemetryCommand.Create(context));
        root.Subcommands.Add(FleetCommand.Create(context));
        root.Subcommands.Add(CascadeCommand.Create(context));
        root.Subcommands.Add(BuildCommand.Create(context));
        root.Subcommands.Add(SpecializeCommand.Create(context));
        foreach (var zooCommand in new[] { ModelsCommand.Create(context), UpgradeCommand.Create(context) }) root.Subcommands.Add(zooCommand);
        root.Subcommands.Add(DeviceCommand.Create(context));
        foreach (var daemonCommand in DaemonCommands.Create(context)) root.Subcommands.Add(daemonCommand);

        var parsed = root.Parse(args);
        if (parsed.GetValue(threads) is int count)
        {
            if (count < 1)
            {
                error.WriteLine("edgert: error: --threads must be at least 1");
                return 2;
            }
            SharedOrtEnvironment.EnsureInitialized(count);
        }
        try
        {
            return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            error.WriteLine($"edgert: error: {e.Message}");
            return 1;
        }
    }

    /// <summary>Failures caused by input the user gave (files, data, arguments), reported without a stack trace.</summary>
    private static bool IsUserFacing(Exception e) => e is CliError or BundleException or VariantUnavailableException
        or InvalidInputException or OnnxFormatException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
        or IOException or UnauthorizedAccessException or ArgumentException or KeyNotFoundException or NotSupportedException
        or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or Deployment.DeploymentRefusedException;
}
