using System.CommandLine;
using EdgeRuntime.Simulation;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert fleet simulate`: simulated boards run the governor with the shipped profile and write telemetry through the
/// real log; the logs are ingested and a profile fitted; held-out boards then run with both profiles.
/// </summary>
internal static class FleetSimulateCommand
{
    public static Command Create(CliContext context)
    {
        var board = new Option<string>("--board") { Description = "Board descriptor id (the device class)", DefaultValueFactory = _ => "raspberry-pi-4" };
        var bundle = new Option<string?>("--bundle") { Description = "Bundle whose variants the boards serve (default: the one built from the embedded fixture model)" };
        var devices = new Option<int>("--devices") { Description = "Simulated boards", DefaultValueFactory = _ => 20 };
        var duration = new Option<string>("--duration") { Description = "Simulated time per board: 90s, 20m, 2h", DefaultValueFactory = _ => "20m" };
        var load = new Option<double>("--load") { Description = "Request rate as the share of time the reference variant would be busy at the board's assumed speed", DefaultValueFactory = _ => 0.8 };
        var slowdown = new Option<double>("--true-slowdown") { Description = "How much slower the boards really are than the speed the runtime assumes for the class", DefaultValueFactory = _ => 1.3 };
        var holdOut = new Option<int>("--hold-out-every") { Description = "Every n-th board is left out of the fit and compared", DefaultValueFactory = _ => 4 };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--out") { Description = "Directory for the device logs, the fleet database and the fitted profile", Required = true };
        var json = CliOutput.Json();
        var mqtt = new MqttCliOptions("edgert-fleet-simulate", required: false);
        var privateBroker = new Option<bool>("--private-broker") { Description = "Send the logs through each board's uplink to a Mosquitto started for this run on loopback, and ingest from it" };
        var command = new Command("simulate",
            "Simulated boards (ambient, cooling, battery, unit speed differ) write telemetry; fit a profile from it; compare fitted and shipped profiles on held-out boards");
        command.AddOptions(board, bundle, devices, duration, load, slowdown, holdOut, seed, output, json, privateBroker);
        mqtt.AddTo(command);
        command.SetAction(result =>
        {
            var options = new FleetSimulationOptions
            {
                Board = result.GetValue(board)!,
                Devices = result.GetValue(devices),
                Duration = SimulationRuns.ParseDuration(result.GetValue(duration)!),
                Load = result.GetValue(load),
                TrueSlowdownFactor = result.GetValue(slowdown),
                HoldOutEvery = result.GetValue(holdOut),
                Seed = result.GetValue(seed),
            };
            FleetSimulationRun.Validate(options);
            string directory = result.GetValue(output)!;
            Directory.CreateDirectory(directory);
            TextWriter? log = result.GetValue(json) ? null : context.Out;
            var broker = mqtt.Build(result);
            if (broker is not null && result.GetValue(privateBroker))
            {
                throw new CliError("fleet simulate: give either --mqtt HOST:PORT or --private-broker, not both");
            }
            using var started = result.GetValue(privateBroker) ? StartPrivateBroker(Path.Combine(directory, "broker")) : null;
            if (started is not null)
            {
                broker = new MqttBrokerOptions { Host = started.Host, Port = started.Port, ClientId = "edgert-fleet-simulate" };
            }
            var (report, profileFile) = FleetSimulationRun.Run(options with { Broker = broker }, result.GetValue(bundle), directory, log);
            context.Write(result.GetValue(json), report, (writer, r) => FleetSimulationRun.WriteText(writer, r, profileFile));
            return 0;
        });
        return command;
    }

    private static MosquittoBroker StartPrivateBroker(string directory)
    {
        try
        {
            return MosquittoBroker.StartAsync(directory).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is FileNotFoundException or IOException)
        {
            throw new CliError($"fleet simulate --private-broker: {e.Message}");
        }
    }
}
