using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert fleet rollout` and its subcommands against simulated devices on a real Mosquitto.</summary>
public sealed class FleetRolloutCommandTests
{
    [Fact]
    public async Task A_signed_bundle_directory_rolls_out_to_every_device_of_the_class_and_the_status_table_shows_it()
    {
        var token = TestContext.Current.CancellationToken;
        using var temp = new TempDirectory();
        using var broker = await MosquittoBroker.StartAsync(temp.File("broker"), saveEveryChange: false, cancellationToken: token);
        var bundles = new BundleFactory(temp.File("publisher"));
        var options = new SimulatedFleetOptions
        {
            Devices = 4,
            BundleName = "fashion",
            TrustedKeysDirectory = bundles.TrustedDirectory,
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "sim" },
            Probation = new ProbationOptions { Period = TimeSpan.Zero, MaxLatencyRatio = 100 },
        };
        await using var fleet = await SimulatedDeploymentFleet.StartAsync(options, temp.File("devices"), "1", bundles.MakeArchive("fashion", 1), null, token);
        string database = temp.File("fleet.duckdb");
        fleet.Announce(database, DateTimeOffset.UtcNow);
        string endpoint = $"{broker.Host}:{broker.Port}";

        var missing = await Cli.RunAsync("fleet", "rollout", "--class", "raspberry-pi-4", "--mqtt", endpoint, "--db", database);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("give --bundle DIR_OR_ARCHIVE", missing.Error);
        var nowhere = await Cli.RunAsync("fleet", "rollout", "--bundle", temp.File("nowhere"), "--class", "raspberry-pi-4", "--mqtt", endpoint, "--db", database);
        Assert.Contains("is neither a bundle directory nor an archive", nowhere.Error);

        var rollout = await Cli.RunAsync("fleet", "rollout", "--bundle", bundles.MakeBundle("fashion", 2), "--class", "raspberry-pi-4", "--stages", "25%,100%",
            "--max-failure", "0%", "--mqtt", endpoint, "--db", database);
        Assert.True(rollout.ExitCode == 0, rollout.ToString());
        Assert.Contains("fashion 2 to raspberry-pi-4, stages 25%,100%, max failure 0%: COMPLETED", rollout.Output);
        Assert.Contains("4 of 4 devices given the bundle: 4 passed, 0 failed", rollout.Output);
        Assert.All(fleet.ActiveVersions().Values, v => Assert.Equal("2", v));

        var status = await Cli.RunAsync("fleet", "rollout", "status", "--db", database, "--devices", "--json");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("\"state\": \"completed\"", status.Output);
        Assert.Contains("\"device_id\": \"sim-003\"", status.Output);
        var pause = await Cli.RunAsync("fleet", "rollout", "pause", "--db", database);
        Assert.Equal(1, pause.ExitCode);
        Assert.Contains("is completed; only a running one can be paused", pause.Error);
        var none = await Cli.RunAsync("fleet", "rollout", "status", "--db", temp.File("none.duckdb"));
        Assert.Contains("fleet database", none.Error);
    }
}
