using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Bench.Deployment;
using EdgeRuntime.Deployment;
using EdgeRuntime.Fleet.Deployment;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet.Tests;

/// <summary>Staged rollouts to simulated devices that run the real device side (store, agent, serving runtime) through a private Mosquitto.</summary>
public sealed class RolloutTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Fifty_devices_take_a_good_bundle_through_three_stages_and_each_bad_bundle_halts_in_the_first_stage_with_every_device_back_and_no_request_failed()
    {
        using var temp = new TempDirectory();
        var report = await RolloutBenchmark.RunAsync(new RolloutBenchmark.Settings { Devices = 50 }, temp.Path, null, null, Token);

        var good = report.Scenarios[0];
        Assert.Equal(("None", "completed", 3), (good.Fault, good.State, good.StagesStarted));
        Assert.Equal((50, 50, 0), (good.GivenBundle, good.Passed, good.Failed));
        Assert.Equal([3, 13, 50], good.Summary.StageTable.Select(s => s.Devices).Aggregate(new List<int>(), (sums, n) => [.. sums, (sums.LastOrDefault() + n)]));
        Assert.Equal(new Dictionary<string, int> { ["2"] = 50 }, good.ActiveVersions);

        var expected = new Dictionary<string, string>
        {
            ["CorruptBytes"] = "hash-mismatch",
            ["BadSignature"] = "bad-signature",
            ["OutputsOff"] = "probation-failed",
            ["Slower"] = "probation-failed",
        };
        Assert.Equal(expected.Keys, report.Scenarios.Skip(1).Select(s => s.Fault));
        foreach (var bad in report.Scenarios.Skip(1))
        {
            Assert.True(bad.State == "halted", $"{bad.Fault}: {bad.State}: {bad.Reason}");
            Assert.Equal(1, bad.StagesStarted);
            Assert.Equal(3, bad.GivenBundle);
            Assert.Equal(0, bad.Passed);
            Assert.True(bad.Failed >= 1, bad.Fault);
            Assert.Equal([expected[bad.Fault]], bad.FailuresByReason.Keys);
            // Every device that was given the bad bundle reported it is back on version 2; none of the others took it.
            Assert.Equal(bad.GivenBundle, bad.Reverted);
            Assert.Equal(new Dictionary<string, int> { ["2"] = 50 }, bad.ActiveVersions);
        }
        Assert.Contains("output 'logits' differs by", report.Scenarios[3].FirstFailure);
        Assert.Matches(@"latency [\d.]+x the replaced version's", report.Scenarios[4].FirstFailure);

        Assert.True(report.Requests > 1000);
        Assert.True(report.Swaps >= 50 + 50 + 4 * 3, $"{report.Swaps} hot swaps");
        Assert.Equal(0, report.FailedRequests);
        Assert.Equal(0, report.FailedRequestsDuringSwaps);
        Assert.Empty(report.Errors);
    }

    [Fact]
    public async Task A_paused_rollout_starts_no_stage_until_resumed_and_an_aborted_one_sends_every_device_back()
    {
        using var temp = new TempDirectory();
        using var broker = await MosquittoBroker.StartAsync(temp.File("broker"), saveEveryChange: false, cancellationToken: Token);
        var bundles = new BundleFactory(temp.File("publisher"));
        const string Name = RolloutBenchmark.BundleName;
        var options = new SimulatedFleetOptions
        {
            Devices = 5,
            BundleName = Name,
            TrustedKeysDirectory = bundles.TrustedDirectory,
            Broker = new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "sim" },
            Probation = new ProbationOptions { Period = TimeSpan.FromMilliseconds(500), MaxLatencyRatio = 100 },
        };
        await using var fleet = await SimulatedDeploymentFleet.StartAsync(options, temp.File("devices"), "1", bundles.MakeArchive(Name, 1), null, Token);
        string database = temp.File("fleet.duckdb");
        fleet.Announce(database, DateTimeOffset.UtcNow);
        await using var session = await FleetConnection.ConnectAsync(new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "controller" }, Token);
        var controller = new RolloutController(database, session, new RolloutOptions { TickInterval = TimeSpan.FromMilliseconds(100) });
        await controller.ListenAsync(TimeSpan.Zero, Token);
        RolloutPlan Plan(long version) => new()
        {
            BundleName = Name,
            Version = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ArchivePath = bundles.MakeArchive(Name, version),
            DeviceClass = options.DeviceClass,
            Stages = RolloutPlan.ParseStages("20%,100%"),
            MaxFailure = 0,
            ChunkSize = 16 * 1024,
        };

        var first = await controller.StartAsync(Plan(2), Token);
        var paused = RolloutController.SetPaused(database, null, paused: true);
        Assert.Equal((first.Id, RolloutState.Paused), (paused.Id, paused.State));
        var pioneer = Assert.Single(first.Devices, d => d.Assigned).DeviceId;
        Rollout waiting;
        do
        {
            await Task.Delay(100, Token);
            waiting = await controller.TickAsync(first.Id, Token);
        }
        while (waiting.Devices.Single(d => d.DeviceId == pioneer).Outcome is null);
        waiting = await controller.TickAsync(first.Id, Token);
        Assert.Equal(RolloutState.Paused, waiting.State);
        Assert.Equal("passed", waiting.Devices.Single(d => d.DeviceId == pioneer).Outcome);
        Assert.Single(waiting.Devices, d => d.Assigned);
        Assert.Contains("only a running one can be paused", Assert.Throws<ArgumentException>(() => RolloutController.SetPaused(database, first.Id, paused: true)).Message);

        RolloutController.SetPaused(database, first.Id, paused: false);
        var done = await controller.RunAsync(first.Id, Token);
        Assert.Equal(RolloutState.Completed, done.State);
        Assert.All(fleet.ActiveVersions().Values, v => Assert.Equal("2", v));

        // Abort while the first stage's device is on version 3: it, and only it, goes back to 2.
        var second = await controller.StartAsync(Plan(3), Token);
        string taker = Assert.Single(second.Devices, d => d.Assigned).DeviceId;
        var device = fleet.Devices.Single(d => d.Id == taker);
        await WaitAsync(() => device.Store.GetState(Name).ActiveVersion == "3", "the first device to activate version 3");
        var aborted = await controller.AbortAsync(null, "test", Token);
        Assert.Equal((RolloutState.Aborted, "aborted: test"), (aborted.State, aborted.Reason));
        var back = await controller.RunAsync(second.Id, Token);
        var summary = RolloutSummary.From(back, DateTimeOffset.UtcNow);
        Assert.Equal((1, 1), (summary.GivenBundle, summary.Reverted));
        Assert.All(fleet.ActiveVersions().Values, v => Assert.Equal("2", v));
        Assert.Equal(0, fleet.Tally().Failures);

        var listed = RolloutController.Status(database, null);
        Assert.Equal([second.Id, first.Id], listed.Select(r => r.Id));
        var text = new StringWriter();
        RolloutSummary.From(listed[0], DateTimeOffset.UtcNow).WriteText(text, devices: true);
        Assert.Contains($"rollout {second.Id}: {Name} 3 to raspberry-pi-4, stages 20%,100%, max failure 0%: ABORTED", text.ToString());
    }

    [Fact]
    public void A_plan_is_checked_before_anything_is_sent_and_stages_hold_at_least_the_minimum_devices()
    {
        var plan = new RolloutPlan
        {
            BundleName = "fashion", Version = "2", ArchivePath = "missing.tar", DeviceClass = "pi/4",
            Stages = RolloutPlan.ParseStages("25%,5%"), MaxFailure = 1.5, MinDevices = 0,
        };
        string problems = Assert.Throws<ArgumentException>(plan.Validate).Message;
        Assert.Contains("device class 'pi/4' contains '/'", problems);
        Assert.Contains("bundle archive 'missing.tar' does not exist", problems);
        Assert.Contains("stages must increase within (0%, 100%]: 25%,5%", problems);
        Assert.Contains("max failure 150% is not in [0%, 100%)", problems);
        Assert.Contains("min devices 0 must be at least 1", problems);
        Assert.Contains("stage 'x%' is not a percentage", Assert.Throws<ArgumentException>(() => RolloutPlan.ParseStages("5%,x%")).Message);

        var sizes = plan with { Stages = RolloutPlan.ParseStages("5%,25%,100%"), MinDevices = 1 };
        Assert.Equal([3, 13, 50], sizes.StageSizes(50));
        Assert.Equal([1, 1, 4], sizes.StageSizes(4));
        Assert.Equal([5, 13, 50], (sizes with { MinDevices = 5 }).StageSizes(50));
    }

    [Fact]
    public async Task A_rollout_to_a_class_the_fleet_has_never_heard_from_is_refused_naming_the_database()
    {
        using var temp = new TempDirectory();
        using var broker = await MosquittoBroker.StartAsync(temp.File("broker"), saveEveryChange: false, cancellationToken: Token);
        var bundles = new BundleFactory(temp.File("publisher"));
        string database = temp.File("fleet.duckdb");
        FleetStore.Open(database).Dispose();
        await using var session = await FleetConnection.ConnectAsync(new MqttBrokerOptions { Host = broker.Host, Port = broker.Port, ClientId = "controller" }, Token);
        var controller = new RolloutController(database, session);
        var plan = new RolloutPlan
        {
            BundleName = "fashion", Version = "2", ArchivePath = bundles.MakeArchive("fashion", 2), DeviceClass = "jetson-nano", Stages = [1.0],
        };
        var refused = await Assert.ThrowsAsync<ArgumentException>(() => controller.StartAsync(plan, Token));
        Assert.Contains($"the fleet database '{database}' knows no device of class 'jetson-nano'", refused.Message);
        Assert.Empty(RolloutController.Status(database, null));
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(50, Token);
        }
    }
}
