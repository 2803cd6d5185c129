using System.CommandLine;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Simulation;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert fleet rollout`: a signed bundle to the devices of a class in stages, halted and rolled back when too many
/// fail; `pause`, `resume`, `abort`, `status`. `edgert fleet bench-rollout`: the simulated fleet through a private Mosquitto.
/// </summary>
internal static class FleetRolloutCommand
{
    private const string DefaultDatabase = "fleet.duckdb";

    public static Command Create(CliContext context)
    {
        var bundle = new Option<string?>("--bundle") { Description = "Signed bundle directory, or the archive packed from it" };
        var deviceClass = new Option<string?>("--class") { Description = "Device class to roll out to (its devices are those the fleet database has telemetry from)" };
        var stages = new Option<string>("--stages") { Description = "Cumulative share of the class after each stage", DefaultValueFactory = _ => "5%,25%,100%" };
        var maxFailure = new Option<string>("--max-failure") { Description = "Halt and roll back every device once failed devices exceed this share of those given the bundle", DefaultValueFactory = _ => "2%" };
        var minDevices = new Option<int>("--min-devices") { Description = "Least devices per stage", DefaultValueFactory = _ => 1 };
        var stageTimeout = new Option<string>("--stage-timeout") { Description = "A device without an outcome this long after it got the bundle counts as failed: 90s, 30m", DefaultValueFactory = _ => "30m" };
        var chunkSize = new Option<int>("--chunk-size") { Description = "Bytes per archive chunk message", DefaultValueFactory = _ => 64 << 10 };
        var noWait = new Option<bool>("--no-wait") { Description = "Start the rollout (first stage) and return; 'rollout resume' drives it on" };
        var database = Database();
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-rollout", required: false);
        var command = new Command("rollout", "Roll a signed bundle out to a device class in stages over MQTT; halt and send every device back to its previous version when failures exceed the limit");
        command.AddOptions(bundle, deviceClass, stages, maxFailure, minDevices, stageTimeout, chunkSize, noWait, database, json);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            string path = result.GetValue(bundle) ?? throw new CliError("give --bundle DIR_OR_ARCHIVE");
            string cls = result.GetValue(deviceClass) ?? throw new CliError("give --class DEVICE_CLASS");
            var broker = mqtt.Build(result) ?? throw new CliError("give --mqtt HOST:PORT");
            var request = new RolloutRequest
            {
                Bundle = path,
                DeviceClass = cls,
                Stages = result.GetValue(stages)!,
                MaxFailure = result.GetValue(maxFailure)!,
                MinDevices = result.GetValue(minDevices),
                StageTimeout = SimulationRuns.ParseDuration(result.GetValue(stageTimeout)!),
                ChunkSize = result.GetValue(chunkSize),
                Wait = !result.GetValue(noWait),
            };
            bool quiet = result.GetValue(json);
            using var loggers = Loggers(quiet);
            var summary = await FleetRollout.StartAsync(broker, result.GetValue(mqtt.TopicPrefix)!, result.GetValue(database)!, request,
                loggers.CreateLogger("rollout"), cancellation);
            context.Write(quiet, summary, (writer, s) => s.WriteText(writer));
            return summary.State is "halted" or "aborted" ? 3 : 0;
        });
        command.Subcommands.Add(CreateStatus(context));
        command.Subcommands.Add(CreatePause(context));
        command.Subcommands.Add(CreateResume(context));
        command.Subcommands.Add(CreateAbort(context));
        return command;
    }

    private static Option<string> Database() => new("--db") { Description = "Fleet DuckDB database (telemetry and rollouts)", DefaultValueFactory = _ => DefaultDatabase };

    private static Option<string?> Id() => new("--id") { Description = "Rollout id (default: the newest)" };

    private static Command CreateStatus(CliContext context)
    {
        var database = Database();
        var id = Id();
        var devices = new Option<bool>("--devices") { Description = "List every device, not only failed ones" };
        var json = CliOutput.Json();
        var command = new Command("status", "Rollouts with their stages, outcomes and timings (newest first)");
        command.AddOptions(database, id, devices, json);
        command.SetAction(result =>
        {
            var summaries = FleetRollout.Status(result.GetValue(database)!, result.GetValue(id));
            context.Write(result.GetValue(json), summaries, (writer, list) =>
            {
                foreach (var summary in list)
                {
                    summary.WriteText(writer, result.GetValue(devices));
                    writer.WriteLine();
                }
            });
            return 0;
        });
        return command;
    }

    private static Command CreatePause(CliContext context)
    {
        var database = Database();
        var id = Id();
        var json = CliOutput.Json();
        var command = new Command("pause", "Start no further stage (devices already given the bundle go on; a failure still halts it)");
        command.AddOptions(database, id, json);
        command.SetAction(result =>
        {
            var summary = FleetRollout.Pause(result.GetValue(database)!, result.GetValue(id));
            context.Write(result.GetValue(json), summary, (writer, s) => s.WriteText(writer));
            return 0;
        });
        return command;
    }

    private static Command CreateResume(CliContext context)
    {
        var database = Database();
        var id = Id();
        var noWait = new Option<bool>("--no-wait") { Description = "Only mark it running (a 'rollout' command still driving it goes on)" };
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-rollout", required: false);
        var command = new Command("resume", "Let a paused rollout go on, and drive it to its end (also takes up a rollout whose command was stopped)");
        command.AddOptions(database, id, noWait, json);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            bool quiet = result.GetValue(json);
            using var loggers = Loggers(quiet);
            var summary = await FleetRollout.ResumeAsync(mqtt.Build(result), result.GetValue(mqtt.TopicPrefix)!, result.GetValue(database)!, result.GetValue(id),
                !result.GetValue(noWait), loggers.CreateLogger("rollout"), cancellation);
            context.Write(quiet, summary, (writer, s) => s.WriteText(writer));
            return 0;
        });
        return command;
    }

    private static Command CreateAbort(CliContext context)
    {
        var database = Database();
        var id = Id();
        var reason = new Option<string>("--reason") { Description = "Why (kept with the rollout)", DefaultValueFactory = _ => "by the operator" };
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-rollout-abort", required: true);
        var command = new Command("abort", "Stop the rollout and send every device given the bundle back to its previous version");
        command.AddOptions(database, id, reason, json);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            bool quiet = result.GetValue(json);
            using var loggers = Loggers(quiet);
            var summary = await FleetRollout.AbortAsync(mqtt.Build(result)!, result.GetValue(mqtt.TopicPrefix)!, result.GetValue(database)!, result.GetValue(id),
                result.GetValue(reason)!, loggers.CreateLogger("rollout"), cancellation);
            context.Write(quiet, summary, (writer, s) => s.WriteText(writer));
            return 0;
        });
        return command;
    }

    public static Command CreateBench(CliContext context)
    {
        var devices = new Option<int>("--devices") { Description = "Simulated devices", DefaultValueFactory = _ => 50 };
        var stages = new Option<string>("--stages") { Description = "Stages of each rollout", DefaultValueFactory = _ => "5%,25%,100%" };
        var maxFailure = new Option<string>("--max-failure") { Description = "Failure limit of each rollout", DefaultValueFactory = _ => "2%" };
        var probation = new Option<string>("--probation") { Description = "Probation period on each device: 2s, 1m", DefaultValueFactory = _ => "2s" };
        var work = new Option<string?>("--work") { Description = "Directory for the broker, devices and database (default: a temporary one, deleted afterwards)" };
        var mosquitto = new Option<string?>("--mosquitto") { Description = "The broker binary started for the run" };
        var json = CliOutput.Json();
        var command = new Command("bench-rollout",
            "A simulated fleet (each device: its own store, MQTT session and serving runtime under requests) on a private Mosquitto takes a good bundle through every stage, then a corrupt, a badly signed, an off-output and a slower one, each of which must halt and come back");
        command.AddOptions(devices, stages, maxFailure, probation, work, mosquitto, json);
        command.SetAction(async (result, cancellation) =>
        {
            bool quiet = result.GetValue(json);
            var settings = new RolloutBenchmark.Settings
            {
                Devices = result.GetValue(devices),
                Stages = result.GetValue(stages)!,
                MaxFailure = result.GetValue(maxFailure)!,
                ProbationPeriod = SimulationRuns.ParseDuration(result.GetValue(probation)!),
                MosquittoBinary = result.GetValue(mosquitto),
            };
            using var scratch = result.GetValue(work) is null ? new TemporaryDirectory("edgeruntime-bench-rollout") : null;
            var report = await RolloutBenchmark.RunAsync(settings, result.GetValue(work) ?? scratch!.Path, quiet ? null : context.Out.WriteLine, null, cancellation);
            context.Write(quiet, report, (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }

    /// <summary>Rollout decisions (stage started, device failed, halted) on standard error as they happen.</summary>
    private static ILoggerFactory Loggers(bool quiet) => LoggerFactory.Create(builder =>
    {
        if (!quiet)
        {
            builder.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).AddSimpleConsole(o => o.SingleLine = true);
        }
    });
}
