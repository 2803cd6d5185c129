using System.CommandLine;
using EdgeRuntime.Devices;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert device`: the detected board and its live readings (thermal zones, cpufreq, throttle flags, power
/// supplies and rails, power mode, load, memory, I2C chips), once or refreshed with --watch; `device boards`
/// lists the descriptors; `device simulate` runs the simulated board and writes its sysfs tree and a trace.
/// </summary>
internal static class DeviceCommand
{
    public static Command Create(CliContext context)
    {
        var root = new Option<string?>("--sysfs-root") { Description = "Directory standing for '/' (a simulated or copied tree); default: this machine's /" };
        var board = new Option<string?>("--board") { Description = "Board id or board.json path instead of auto-detection" };
        var devices = new Option<string?>("--devices") { Description = "A devices/ folder whose board.json files override the built-in descriptors" };
        var watch = new Option<bool>("--watch") { Description = "Refresh the readings until interrupted" };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes with --watch", DefaultValueFactory = _ => 2 };
        var count = new Option<int?>("--count") { Description = "Stop --watch after this many refreshes" };
        var json = CliOutput.Json();

        var command = new Command("device", "Show the detected board and its live sensor readings");
        command.AddOptions(root, board, devices, watch, interval, count, json);
        command.SetAction(async (result, cancellation) =>
        {
            await DeviceInspection.WatchAsync(result.GetValue(root), result.GetValue(board), result.GetValue(devices), result.GetValue(watch), result.GetValue(interval),
                result.GetValue(count), (report, refresh) => context.Write(result.GetValue(json), report, (writer, r) => r.WriteText(writer, refresh)), cancellation);
            return 0;
        });
        command.Subcommands.Add(CreateBoards(context, devices, json));
        command.Subcommands.Add(CreateSimulate(context, devices, json));
        return command;
    }

    private static Command CreateBoards(CliContext context, Option<string?> devices, Option<bool> json)
    {
        var command = new Command("boards", "List the board descriptors (built in, and from --devices)");
        command.SetAction(result =>
        {
            context.Write(result.GetValue(json), DeviceInspection.Boards(result.GetValue(devices)), DeviceInspection.WriteBoards);
            return 0;
        });
        // Recursive options of the parent are not inherited; re-add the ones this subcommand reads.
        command.AddOptions(devices, json);
        return command;
    }

    private static Command CreateSimulate(CliContext context, Option<string?> devices, Option<bool> json)
    {
        var output = new Option<string>("--out") { Description = "Directory for the simulated sysfs tree (read it with `edgert device --sysfs-root`)", Required = true };
        var board = new Option<string>("--board") { Description = "Board id or board.json path", DefaultValueFactory = _ => "raspberry-pi-4" };
        var seconds = new Option<double>("--seconds") { Description = "Simulated seconds of full load", DefaultValueFactory = _ => 600 };
        var idle = new Option<double>("--idle-seconds") { Description = "Simulated seconds of idle after the load", DefaultValueFactory = _ => 300 };
        var load = new Option<double>("--load") { Description = "CPU utilisation during the load phase (0..1)", DefaultValueFactory = _ => 1 };
        var ambient = new Option<double?>("--ambient") { Description = "Ambient temperature in °C (default: the descriptor's)" };
        var step = new Option<double>("--step") { Description = "Simulated seconds per step (each step rewrites the tree)", DefaultValueFactory = _ => 1 };
        var trace = new Option<string?>("--trace") { Description = "Record the readings of every step to this file (JSON lines)" };
        var realtime = new Option<bool>("--realtime") { Description = "Step in real time, so `edgert device --watch` can follow the tree" };
        var command = new Command("simulate", "Run the simulated board (thermal model, DVFS throttling, battery) and write its sysfs tree");
        command.AddOptions(output, board, seconds, idle, load, ambient, step, trace, realtime, devices, json);
        command.SetAction(async (result, cancellation) =>
        {
            var plan = new SysfsBoardRun.Plan(result.GetValue(seconds), result.GetValue(idle), result.GetValue(load), result.GetValue(step),
                result.GetValue(ambient), result.GetValue(trace), result.GetValue(realtime));
            var report = await DeviceSimulation.RunAsync(result.GetValue(board)!, result.GetValue(devices), result.GetValue(output)!, plan, cancellation);
            context.Write(result.GetValue(json), report, (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }
}
