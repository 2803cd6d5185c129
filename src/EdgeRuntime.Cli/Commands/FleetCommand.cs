using System.CommandLine;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bench.FleetLoad;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert fleet ingest`: device telemetry logs into an embedded DuckDB database (idempotent by device and
/// sequence number), optionally exported as Parquet, or live from an MQTT broker; `edgert fleet fit`: governor profiles
/// per device class; `edgert fleet publish`: fitted profiles to the devices over MQTT; `edgert fleet bench-uplink`: the
/// device uplink's throughput against a private Mosquitto; `edgert fleet rollout`: staged model deployment (<see cref="FleetRolloutCommand"/>).
/// </summary>
internal static class FleetCommand
{
    private const string DefaultDatabase = "fleet.duckdb";

    public static Command Create(CliContext context)
    {
        var command = new Command("fleet", "Ingest device telemetry and fit device profiles from it");
        command.Subcommands.Add(CreateIngest(context));
        command.Subcommands.Add(CreateFit(context));
        command.Subcommands.Add(CreateBench(context));
        command.Subcommands.Add(FleetSimulateCommand.Create(context));
        command.Subcommands.Add(CreatePublish(context));
        command.Subcommands.Add(CreateBenchUplink(context));
        command.Subcommands.Add(FleetRolloutCommand.Create(context));
        command.Subcommands.Add(FleetRolloutCommand.CreateBench(context));
        return command;
    }

    private static Command CreateIngest(CliContext context)
    {
        var from = new Option<string[]>("--from") { Description = "Telemetry log directory, or a directory of device log directories (repeatable)", AllowMultipleArgumentsPerToken = true };
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var parquet = new Option<string?>("--parquet") { Description = "Also export every record to this Parquet file" };
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-ingest", required: false);
        var untilIdle = new Option<double?>("--until-idle") { Description = "With --mqtt: stop once nothing arrived for this many seconds (default: run until Ctrl+C)" };
        var command = new Command("ingest", "Read device telemetry (log directories, or live from an MQTT broker) into the fleet database; records already stored are skipped");
        command.AddOptions(from, database, parquet, json, untilIdle);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            var broker = mqtt.Build(result);
            string[]? roots = result.GetValue(from);
            bool quiet = result.GetValue(json);
            if (broker is not null)
            {
                if (roots is { Length: > 0 })
                {
                    throw new CliError("give either --from (log directories) or --mqtt (a broker), not both");
                }
                var received = await FleetIngestion.FromBrokerAsync(broker, result.GetValue(mqtt.TopicPrefix)!, result.GetValue(database)!, result.GetValue(parquet),
                    result.GetValue(untilIdle), quiet ? null : context.Out.WriteLine, cancellation);
                context.Write(quiet, received, (writer, r) => r.WriteText(writer));
                return 0;
            }
            if (result.GetValue(untilIdle) is not null)
            {
                throw new CliError("--until-idle goes with --mqtt");
            }
            if (roots is not { Length: > 0 })
            {
                throw new CliError("give --from DIR (device telemetry logs) or --mqtt HOST:PORT (a broker)");
            }
            var read = FleetIngestion.FromLogs(roots, result.GetValue(database)!, result.GetValue(parquet));
            context.Write(quiet, read, (writer, r) => r.WriteText(writer));
            return 0;
        });
        return command;
    }

    private static Command CreatePublish(CliContext context)
    {
        var mqtt = new MqttCliOptions("edgert-fleet-publish", required: true);
        var profiles = new Option<string>("--profiles") { Description = "Directory of fitted profiles (<class>.json, from 'edgert fleet fit')", Required = true };
        var json = CliOutput.Json("Print what was sent as JSON");
        var command = new Command("publish", "Send each fitted profile to its device class as a retained MQTT message with its SHA-256; devices hot-reload it");
        command.Options.Add(profiles);
        command.Options.Add(json);
        mqtt.AddTo(command);
        command.SetAction(async (result, cancellation) =>
        {
            var sent = await ProfilePublisher.PublishDirectoryAsync(mqtt.Build(result)!, result.GetValue(mqtt.TopicPrefix)!, result.GetValue(profiles)!, cancellation);
            context.Write(result.GetValue(json), sent, ProfilePublisher.WriteText);
            return 0;
        });
        return command;
    }

    private static Command CreateFit(CliContext context)
    {
        var database = new Option<string>("--db") { Description = "DuckDB database file", DefaultValueFactory = _ => DefaultDatabase };
        var deviceClass = new Option<string?>("--class") { Description = "Device class to fit (default: every class in the database)" };
        var output = new Option<string>("--out") { Description = "Directory for the fitted profiles (<class>.json)", Required = true };
        var json = CliOutput.Json();
        var command = new Command("fit", "Fit governor profiles per device class (latency vs clock and temperature, energy, thermal time constant)");
        command.AddOptions(database, deviceClass, output, json);
        command.SetAction(result =>
        {
            var entries = FleetFit.Run(result.GetValue(database)!, result.GetValue(deviceClass), result.GetValue(output)!);
            context.Write(result.GetValue(json), entries, FleetFit.WriteText);
            return 0;
        });
        return command;
    }

    private static Command CreateBench(CliContext context)
    {
        var devices = new Option<int>("--devices") { Description = "Synthetic devices", DefaultValueFactory = _ => 1000 };
        var hours = new Option<double>("--hours") { Description = "Hours of telemetry per device (a sample and a summary every 10 s)", DefaultValueFactory = _ => 1 };
        var work = new Option<string?>("--work") { Description = "Directory for the logs and database (default: a temporary one, deleted afterwards)" };
        var json = CliOutput.Json();
        var command = new Command("bench", "Write synthetic device logs, ingest them twice (the second time all duplicates), fit, and check the fit on held-out devices");
        command.AddOptions(devices, hours, work, json);
        command.SetAction(async (result, cancellation) =>
        {
            var report = await FleetBenchmark.RunCheckedAsync(result.GetValue(work), result.GetValue(devices), result.GetValue(hours), cancellation);
            context.Write(result.GetValue(json), report, FleetBenchmark.WriteText);
            return 0;
        });
        return command;
    }

    private static Command CreateBenchUplink(CliContext context)
    {
        var records = new Option<int>("--records") { Description = "Records in the device log", DefaultValueFactory = _ => 50_000 };
        var batch = new Option<int>("--batch") { Description = "Records per MQTT message", DefaultValueFactory = _ => 100 };
        var rounds = new Option<int>("--rounds") { Description = "Interleaved rounds of uplink and bare publishing", DefaultValueFactory = _ => 3 };
        var mosquitto = new Option<string>("--mosquitto") { Description = "The broker binary started for the run", DefaultValueFactory = _ => MosquittoBroker.DefaultBinary };
        var json = CliOutput.Json();
        var command = new Command("bench-uplink", "Throughput of the telemetry uplink (log -> QoS 1 -> broker acknowledgement -> cursor) against bare QoS 1 publishing of the same batches, on a private Mosquitto on loopback; then once end to end into DuckDB");
        command.AddOptions(records, batch, rounds, mosquitto, json);
        command.SetAction(async (result, cancellation) =>
        {
            var report = await FleetBenchmark.RunUplinkCheckedAsync(result.GetValue(records), result.GetValue(batch), result.GetValue(rounds), result.GetValue(mosquitto)!, cancellation);
            context.Write(result.GetValue(json), report, FleetBenchmark.WriteText);
            return 0;
        });
        return command;
    }
}
