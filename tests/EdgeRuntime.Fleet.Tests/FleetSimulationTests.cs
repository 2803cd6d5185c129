using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet.Tests;

public sealed class FleetSimulationTests(ITestOutputHelper output)
{
    // Latencies "measured here"; the boards run them 6x slower by the built-in table and 1.3x slower again in truth.
    private static readonly SimulatedVariant[] Variants =
    [
        new("fp32", 0.906, 1.0, 1.15),
        new("int8", 0.905, 0.95, 1.1),
        new("pruned", 0.893, 0.6, 0.7),
    ];

    private static readonly FleetSimulationOptions SmallFleet = new() { Devices = 8, Duration = TimeSpan.FromMinutes(4), HoldOutEvery = 4, Seed = 3 };

    [Fact]
    public void A_small_simulated_fleet_fits_service_time_within_ten_percent_on_held_out_boards_and_the_profile_is_valid()
    {
        using var temp = new TempDirectory();
        var report = FleetSimulation.Run(Variants, SmallFleet, temp.Path);
        foreach (var run in report.Runs)
        {
            output.WriteLine($"{run.Device} {run.Profile}: SLO {run.SloAttainment:P1} quality {run.MeanQuality:P2} throttled {run.SecondsThrottled:F0} s switches {run.Switches}");
        }
        output.WriteLine($"held-out error mean {report.HeldOutServiceMeanError:P2} p95 {report.HeldOutServiceP95Error:P2} over {report.HeldOutWindows} windows; tau {report.FittedTimeConstantSeconds}");
        foreach (var (id, cost) in report.FittedProfile.Variants)
        {
            output.WriteLine($"{id}: fitted p50 {cost.LatencyP50Ms:F3} p95 {cost.LatencyP95Ms:F3}, true {report.TrueFullClockServiceMs[id]:F3}, assumed {report.AssumedFullClockServiceMs[id]:F3}");
        }

        Assert.Equal(2, report.Devices.Count(d => d.HeldOut));
        Assert.Equal(report.RecordsWritten, report.Ingest.RecordsInserted);
        Assert.True(report.FittedOnServiceTime);
        Assert.True(report.HeldOutWindows > 50, $"{report.HeldOutWindows} held-out windows");
        Assert.InRange(report.HeldOutServiceMeanError, 0, 0.10);
        // The fitted costs are the boards' true ones, not the table's guess (the boards differ by ±5% among themselves).
        foreach (var (id, cost) in report.FittedProfile.Variants)
        {
            Assert.InRange(cost.LatencyP50Ms / report.TrueFullClockServiceMs[id], 0.9, 1.15);
        }
        // Knowing the true costs, the governor keeps the SLO on the held-out boards more often than with the shipped guess.
        Assert.True(report.Fitted.SloAttainment > report.Default.SloAttainment, $"fitted {report.Fitted} vs default {report.Default}");
        Assert.Empty(ProfileJson.Validate(report.FittedProfile));
        var reparsed = ProfileJson.Parse(ProfileJson.Serialize(report.FittedProfile), "fitted");
        Assert.Equal("fleet-fit", reparsed.Provenance.Source);
        Assert.True(reparsed.Version > ProfileCatalog.BuiltIn("raspberry-pi-4").Version);
    }

    [Fact]
    public async Task Through_each_boards_uplink_and_a_real_broker_the_fleet_store_gets_every_record_once_and_the_same_fit()
    {
        using var temp = new TempDirectory();
        using var broker = await MosquittoBroker.StartAsync(temp.File("broker"));
        var viaFiles = FleetSimulation.Run(Variants, SmallFleet, temp.File("files"));
        var viaBroker = FleetSimulation.Run(Variants, SmallFleet with
        {
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "fleet-test", BackoffMin = TimeSpan.FromMilliseconds(50) },
        }, temp.File("mqtt"));
        output.WriteLine($"{viaBroker.Ingest.RecordsRead} records received, {viaBroker.Ingest.Duplicates} duplicates, {viaBroker.Ingest.Seconds:F1} s via {viaBroker.IngestedVia}");

        Assert.StartsWith("MQTT 127.0.0.1:", viaBroker.IngestedVia);
        Assert.Equal(viaBroker.RecordsWritten, viaBroker.Ingest.RecordsInserted);
        // Same seed, same boards, same records: the profile fitted from what came through the broker is the one fitted from the files.
        Assert.Equal(viaFiles.RecordsWritten, viaBroker.RecordsWritten);
        Assert.Equal(viaFiles.HeldOutServiceMeanError, viaBroker.HeldOutServiceMeanError, 9);
        Assert.Equal(ProfileJson.Serialize(viaFiles.FittedProfile with { Provenance = viaBroker.FittedProfile.Provenance }),
            ProfileJson.Serialize(viaBroker.FittedProfile));
    }

    [Fact]
    public void Bad_fleet_options_are_refused_with_the_setting_named()
    {
        using var temp = new TempDirectory();
        Assert.Contains("devices", Assert.Throws<ArgumentException>(() => FleetSimulation.Run(Variants, SmallFleet with { Devices = 2 }, temp.Path)).Message);
        Assert.Contains("hold-out-every", Assert.Throws<ArgumentException>(() => FleetSimulation.Run(Variants, SmallFleet with { HoldOutEvery = 1 }, temp.Path)).Message);
        Assert.Contains("true slowdown", Assert.Throws<ArgumentException>(() => FleetSimulation.Run(Variants, SmallFleet with { TrueSlowdownFactor = 0 }, temp.Path)).Message);
        Assert.Contains("no-such-board", Assert.Throws<ArgumentException>(() => FleetSimulation.Run(Variants, SmallFleet with { Board = "no-such-board" }, temp.Path)).Message);
    }
}
