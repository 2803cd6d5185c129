using System.CommandLine;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert demo`: the fixture bundle built and a request stream served through the runtime (see <see cref="FixtureDemo"/>).</summary>
internal static class DemoCommand
{
    public static Command Create(CliContext context)
    {
        var output = new Option<string>("--out") { Description = "Where to write the demo bundle", DefaultValueFactory = _ => Path.Combine(Path.GetTempPath(), "edgeruntime-demo") };
        var requests = new Option<int>("--requests") { Description = "Requests to serve", DefaultValueFactory = _ => 2000 };
        var quick = new Option<bool>("--quick") { Description = "Only the fp32 and int8 variants (seconds instead of about a minute)" };
        var json = CliOutput.Json();
        var command = new Command("demo", "Build a bundle from the embedded fixture model and serve a workload through the runtime (no hardware needed)");
        command.AddOptions(output, requests, quick, json);
        command.SetAction(result =>
        {
            int count = result.GetValue(requests);
            if (count < 1)
            {
                throw new CliError("--requests must be at least 1");
            }
            // Without --json the run prints its progress and table as it goes.
            var report = FixtureDemo.Run(result.GetValue(output)!, count, result.GetValue(json) ? null : context.Out, result.GetValue(quick));
            context.Write(result.GetValue(json), report, (_, _) => { });
            return report.Failures == 0 ? 0 : 1;
        });
        return command;
    }
}
