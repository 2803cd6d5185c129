using System.CommandLine;
using EdgeRuntime.Client;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert status`: one snapshot of a running daemon.</summary>
internal static class StatusCommand
{
    public static Command Create(CliContext context)
    {
        var connection = new DaemonConnection();
        var model = new Option<string?>("--model") { Description = "Only this model" };
        var json = CliOutput.Json("Print the status as JSON");
        var command = new Command("status", "Ask a running edgertd for its models, current variants and why (the governor's reasons), latency, queue, sensors and profile");
        connection.AddTo(command);
        command.Options.Add(model);
        command.Options.Add(json);
        command.SetAction(async (result, cancellation) =>
        {
            await using var client = connection.CreateClient(result);
            var status = await DaemonCall.RunAsync(() => client.StatusAsync(result.GetValue(model), cancellation));
            context.Write(result.GetValue(json), status, (writer, s) => StatusText.Write(s, writer));
            return 0;
        });
        return command;
    }
}
