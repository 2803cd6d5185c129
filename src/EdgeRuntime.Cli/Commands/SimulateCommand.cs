using System.CommandLine;
using EdgeRuntime.Reporting;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert simulate`: the governor against a simulated board, compared with every static variant.</summary>
internal static class SimulateCommand
{
    public static Command Create(CliContext context)
    {
        var board = new Option<string>("--board") { Description = "Board descriptor id", DefaultValueFactory = _ => "raspberry-pi-4" };
        var bundle = new Option<string?>("--bundle") { Description = "Bundle to simulate (default: the one built from the embedded fixture model)" };
        var load = new Option<double>("--load") { Description = "Request rate as the share of time the reference variant would be busy at full clock", DefaultValueFactory = _ => 0.8 };
        var rate = new Option<double?>("--rate") { Description = "Fixed request rate per second instead of --load" };
        var duration = new Option<string>("--duration") { Description = "Simulated time: 90s, 30m, 2h", DefaultValueFactory = _ => "30m" };
        var slo = new Option<double?>("--slo") { Description = $"p95 latency target in ms (default {SimulationOptions.DefaultSloFactor}x the reference's median on the board)" };
        var ambient = new Option<double?>("--ambient") { Description = "Ambient temperature in °C (default: the board's)" };
        var battery = new Option<bool>("--on-battery") { Description = "Run from the board's battery instead of mains" };
        var seed = new Option<int>("--seed") { Description = "Random seed (arrivals, service times, sensor noise)", DefaultValueFactory = _ => 1 };
        var output = new Option<string?>("--out") { Description = "Directory for traces (CSV per policy) and PNG plots" };
        var json = CliOutput.Json();
        var telemetry = new Option<string?>("--telemetry") { Description = "Directory for the adaptive run's device telemetry log" };
        var live = new Option<bool>("--live") { Description = "Real inferences in real time against the simulated board (use a short --duration, e.g. 60s)" };
        var scenario = new Option<string?>("--scenario") { Description = "A scenario file (devices/scenarios/README.md) or a folder of them: load, ambient, power, battery and fan over time" };
        var fixtureCache = new Option<string?>("--fixture-cache") { Description = "Keep the embedded fixture's bundle in this folder and reuse it on later runs (built when missing)" };
        var measure = new Option<bool>("--measure") { Description = "Measure each variant on this machine (scaled by the board's speed) instead of taking recorded costs" };
        var threadsModel = new Option<bool>("--threads-model") { Description = "Model intra-op threads: costs are on all cores, one thread is slower but keeps one core busy; the adaptive run chooses threads too" };
        var knobCosts = new Option<string?>("--knob-costs") { Description = "With --threads-model: a bundle whose manifest holds recorded threads/spinning costs (bench-knobs --record), when the simulated bundle has none" };
        var command = new Command("simulate", "Run the adaptive governor against a simulated board in virtual time and compare it with every static variant");
        command.AddOptions(board, bundle, load, rate, duration, slo, ambient, battery, seed, output, json, telemetry, live, scenario, measure, fixtureCache, threadsModel, knobCosts);
        command.SetAction(result =>
        {
            var options = new SimulationOptions
            {
                Board = result.GetValue(board)!,
                Load = result.GetValue(load),
                RatePerSecond = result.GetValue(rate),
                Duration = SimulationRuns.ParseDuration(result.GetValue(duration)!),
                SloP95Ms = result.GetValue(slo),
                AmbientCelsius = result.GetValue(ambient),
                OnBattery = result.GetValue(battery),
                Seed = result.GetValue(seed),
                Threads = result.GetValue(threadsModel) ? new SimulatedThreads { KnobCostsBundle = result.GetValue(knobCosts) } : null,
            };
            TextWriter? log = result.GetValue(json) ? null : context.Out;
            if (result.GetValue(live))
            {
                var liveReport = SimulationRuns.RunLive(options, result.GetValue(bundle), log);
                context.Write(result.GetValue(json), liveReport, LiveSimulation.WriteText);
                return liveReport.Failed == 0 ? 0 : 1;
            }
            if (result.GetValue(scenario) is string scenarioPath)
            {
                bool quiet = result.GetValue(json);
                var run = SimulationRuns.RunScenarios(scenarioPath, result.GetValue(bundle), result.GetValue(output), result.GetValue(measure), result.GetValue(fixtureCache), quiet ? null : context.Out);
                context.Write(quiet, run.Results, (writer, _) => run.WriteSummary(writer));
                return 0;
            }
            var report = SimulationRuns.Run(options, result.GetValue(bundle), result.GetValue(output), log, result.GetValue(measure));
            if (result.GetValue(telemetry) is string telemetryDirectory)
            {
                long written = SimulationRuns.WriteTelemetry(report, telemetryDirectory);
                log?.WriteLine($"telemetry: {written} records written to {telemetryDirectory}");
            }
            context.Write(result.GetValue(json), report with { Traces = new Dictionary<string, IReadOnlyList<TracePoint>>() }, (writer, _) => SimulationRuns.WriteText(writer, report));
            return 0;
        });
        return command;
    }
}
