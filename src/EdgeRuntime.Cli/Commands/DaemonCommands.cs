using System.CommandLine;

namespace EdgeRuntime.Cli.Commands;

/// <summary>The commands that run, query and measure the edgertd daemon.</summary>
internal static class DaemonCommands
{
    public static IEnumerable<Command> Create(CliContext context) =>
    [
        ServeCommand.Create(context),
        StatusCommand.Create(context),
        TopCommand.Create(context),
        BenchServerCommand.Create(context),
        BenchHostileCommand.Create(context),
        BenchProtocolCommand.Create(context),
    ];
}
