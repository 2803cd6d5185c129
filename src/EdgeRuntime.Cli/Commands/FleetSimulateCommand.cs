using System.CommandLine;
using EdgeRuntime.Simulation;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bundles;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
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
        foreach (var option in new Option[] { board, bundle, devices, duration, load, slowdown, holdOut, seed, output, json, privateBroker })
        {
            command.Options.Add(option);
        }
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
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliError($"fleet simulate: {e.Message}");
            }
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
            var report = Run(options with { Broker = broker }, result.GetValue(bundle), directory, log);
            string profileFile = Path.Combine(directory, "profiles", report.Board + ".json");
            Directory.CreateDirectory(Path.GetDirectoryName(profileFile)!);
            File.WriteAllText(profileFile, ProfileJson.Serialize(report.FittedProfile));
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
            }
            else
            {
                Print(context.Out, report, profileFile);
            }
            return 0;
        });
        return command;
    }

    private static FleetSimulationReport Run(FleetSimulationOptions options, string? bundlePath, string directory, TextWriter? log)
    {
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-fleet-simulate", Guid.NewGuid().ToString("N"));
        try
        {
            ModelBundle bundle = bundlePath is null
                ? ModelBundle.Open(FixtureBundle.Build(Path.Combine(work, "fixture"), log).Directory)
                : ModelBundle.OpenPath(bundlePath);
            log?.WriteLine($"measuring each variant of '{bundle.Name}' on this machine (batch 1, interleaved rounds) ...");
            var variants = SimulationRuns.MeasureInterleaved(bundle, log);
            log?.WriteLine($"{options.Devices} boards x {options.Duration.TotalMinutes:F0} min, shipped profile '{options.Board}':");
            try
            {
                return FleetSimulation.Run(variants, options, directory, log is null ? null : line => log.WriteLine(line));
            }
            catch (ArgumentException e)
            {
                throw new CliError($"fleet simulate: {e.Message}");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
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

    private static void Print(TextWriter output, FleetSimulationReport report, string profileFile)
    {
        int heldOut = report.Devices.Count(d => d.HeldOut);
        output.WriteLine();
        output.WriteLine($"{report.Board}: {report.Devices.Count} boards ({heldOut} held out), {report.DurationSeconds / 60:F0} min each, {report.RatePerSecond:F0} requests/s, SLO p95 {report.SloP95Ms:F3} ms");
        output.WriteLine($"telemetry: {report.RecordsWritten} records written, {report.Ingest.RecordsInserted} ingested from {report.IngestedVia} in {report.Ingest.Seconds:F1} s; profile fitted on {(report.FittedOnServiceTime ? "service time" : "response time")} -> {profileFile}");
        output.WriteLine($"fit error on held-out boards ({report.HeldOutWindows} windows): service time mean {report.HeldOutServiceMeanError:P1}, p95 {report.HeldOutServiceP95Error:P1}; {report.HeldOutWithin10Percent:P1} of windows within 10% (a fit of response p95, queue included, would be off by {report.HeldOutResponseP95Error:P0})");
        output.WriteLine($"thermal time constant: fitted {(report.FittedTimeConstantSeconds is double t ? $"{t:F0} s" : "none")}, shipped {report.DefaultTimeConstantSeconds:F0} s");
        var costs = new TextTable("variant", "assumed ms", "true ms", "fitted p50 ms", "fitted p95 ms");
        foreach (var (id, assumed) in report.AssumedFullClockServiceMs)
        {
            var fitted = report.FittedProfile.Variants.GetValueOrDefault(id);
            costs.Add(id, Math.Round(assumed, 3), Math.Round(report.TrueFullClockServiceMs[id], 3), fitted is null ? null : Math.Round(fitted.LatencyP50Ms, 3),
                fitted is null ? null : Math.Round(fitted.LatencyP95Ms, 3));
        }
        costs.WriteTo(output);
        output.WriteLine("held-out boards (means):");
        var table = new TextTable("profile", "SLO met", "mean quality", "throttled s", "max °C", "switches");
        foreach (var outcome in new[] { report.Default, report.Fitted })
        {
            table.Add(outcome.Profile == "default" ? "default (shipped)" : "fitted", Formatting.Percent(outcome.SloAttainment), Formatting.Percent(outcome.MeanQuality),
                Math.Round(outcome.SecondsThrottled, 1), Math.Round(outcome.MaxCelsius, 1), Math.Round(outcome.Switches, 1));
        }
        table.WriteTo(output);
    }
}
