using EdgeRuntime.Client;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Governance;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Server.Tests;

/// <summary>
/// The daemon's governor against a simulated Raspberry Pi 4: the board's model writes a real sysfs tree, the
/// daemon reads it through its device monitor on a fake clock, and everything is observed through the client.
/// </summary>
public sealed class GovernorTests
{
    private static readonly BoardDescriptor Pi4 = BoardCatalog.BuiltIn().Get("raspberry-pi-4");
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(ProfileCatalog.BuiltIn("raspberry-pi-4").Policy.TickSeconds);

    private sealed record SimulatedDaemon(TestServer Server, SimulatedBoard Board, FakeTimeProvider Time) : IAsyncDisposable
    {
        public string CurrentVariant => Server.Server.Registry.Models[0].CurrentVariant;
        public ThermalState? ThermalState => Server.Server.Governance.LastSnapshot?.ThermalState;

        /// <summary>Runs the board one simulated step per governor tick until the condition holds.</summary>
        public void RunUntil(Func<bool> done, string what, double utilisation, double simulatedSecondsPerTick = 1, int maxTicks = 1000)
        {
            for (int i = 0; i < maxTicks && !done(); i++)
            {
                Board.Step(TimeSpan.FromSeconds(simulatedSecondsPerTick), utilisation);
                Time.Advance(Tick);
            }
            Assert.True(done(), $"{what} did not happen within {maxTicks} ticks; the board is at {Board.Celsius:F1} °C, serving {CurrentVariant}");
        }

        public ValueTask DisposeAsync() => Server.DisposeAsync();
    }

    private static async Task<SimulatedDaemon> StartOnSimulatedPiAsync(Action<ServerOptions>? configure = null, double ambientCelsius = 45)
    {
        var directory = new TestDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var board = new SimulatedBoard(Pi4, directory["sysfs"], ambientCelsius: ambientCelsius);
        var server = await TestServer.StartAsync(o =>
        {
            o.Bundles = [TestBundles.CostedPair(directory["costed"], Pi4.Id)];
            o.SysfsRoot = board.Root.RootDirectory;
            configure?.Invoke(o);
        }, time, directory);
        return new SimulatedDaemon(server, board, time);
    }

    private static async Task<ServerEvent> NextEventAsync(EdgertSubscription subscription, Func<ServerEvent, bool> match, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (true)
            {
                var next = await subscription.Events.ReadAsync(timeout.Token);
                if (match(next))
                {
                    return next;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no {what} event arrived");
        }
    }

    [Fact]
    public async Task Status_shows_the_detected_board_its_sensors_and_the_initial_decision()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var status = await daemon.Server.Client().StatusAsync();

        Assert.Equal("nominal", status.ThermalState);
        Assert.InRange(status.Sensors["thermal/hottest_c"], 43, 47);
        Assert.Equal(status.Sensors["thermal/hottest_c"], status.Sensors["thermal/cpu-thermal_c"]);
        Assert.Equal(600, status.Sensors["cpu/freq_mhz"]);
        // The simulated Pi starts on its battery HAT, full and unplugged.
        Assert.Equal(100, status.Sensors["battery/percent"], 1);
        Assert.Equal((0, 0), (status.Sensors["battery/charging"], status.Sensors["power/external"]));
        Assert.Equal(0, status.Sensors["throttle/flags"]);
        Assert.Empty(status.Throttle);
        Assert.Equal(daemon.Time.GetUtcNow().ToUnixTimeMilliseconds(), status.SampledAtUnixMs);

        var governor = status.Governor!;
        Assert.True(governor.Adaptive);
        Assert.Equal("raspberry-pi-4", governor.Board);
        Assert.Contains("Raspberry Pi 4", governor.BoardReason);
        Assert.Equal(("raspberry-pi-4", 1L, "built-in"), (governor.DeviceClass, governor.ProfileVersion, governor.ProfileFrom));
        Assert.Equal(Tick.TotalMilliseconds, governor.TickMs);
        Assert.Equal(0, governor.TickFailures);
        Assert.Null(governor.FailingForMs);

        var model = Assert.Single(status.Models);
        Assert.Equal("a", model.CurrentVariant);
        Assert.StartsWith("Initial: a stays", model.Reasons[0]);
        Assert.Equal("Initial", model.Decisions[0].Code);
    }

    [Fact]
    public async Task Heating_steps_down_to_the_lighter_variant_with_a_thermal_reason_and_cooling_steps_back_up()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var client = daemon.Server.Client();
        await using var events = await client.SubscribeAsync(["switch", "thermal"]);

        daemon.RunUntil(() => daemon.CurrentVariant == "b", "a switch to the lighter variant", utilisation: 1);

        var model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal("b", model.CurrentVariant);
        var decision = model.Decisions[0];
        Assert.Equal(("a", "b"), (decision.From, decision.To));
        Assert.Contains(decision.Code, new[] { nameof(DecisionReason.ThermalPredicted), nameof(DecisionReason.ThermalSerious) });
        Assert.StartsWith($"{decision.Code}: a -> b", model.Reasons[0]);
        Assert.Equal((1L, decision.Code), (model.Switches, model.LastSwitch!.Code));
        var down = await NextEventAsync(events, e => e.Kind == "switch", "switch");
        Assert.Equal(("a", "b", decision.Code), (down.Switch!.From, down.Switch.To, down.Switch.Code));
        Assert.StartsWith(decision.Code, down.Switch.Reason);
        Assert.Equal("b", (await client.InferAsync(TestServer.Image())).Variant);

        // Hotter still: the thermal state climbs, announced to subscribers, and the lightest variant stays.
        daemon.RunUntil(() => daemon.ThermalState == ThermalState.Serious, "the serious thermal state", utilisation: 1);
        Assert.StartsWith("fair (was nominal)", (await NextEventAsync(events, e => e.Kind == "thermal", "thermal")).Detail);
        Assert.StartsWith("serious (was fair)", (await NextEventAsync(events, e => e.Kind == "thermal", "thermal")).Detail);
        var hot = await client.StatusAsync();
        Assert.Equal("serious", hot.ThermalState);
        Assert.InRange(hot.Sensors["thermal/hottest_c"], 74, 80);
        Assert.StartsWith("ThermalSerious: b stays", Assert.Single(hot.Models).Reasons[0]);

        // At light load the board cools; after the dwell time the governor returns to the more accurate variant.
        daemon.RunUntil(() => daemon.CurrentVariant == "a", "a switch back up", utilisation: 0.2, simulatedSecondsPerTick: 5);
        var up = await NextEventAsync(events, e => e.Kind == "switch", "switch");
        Assert.Equal(("b", "a", nameof(DecisionReason.Headroom)), (up.Switch!.From, up.Switch.To, up.Switch.Code));
        Assert.Equal(2, Assert.Single((await client.StatusAsync()).Models).Switches);
    }

    [Fact]
    public async Task A_board_that_is_suddenly_serious_steps_down_with_ThermalSerious()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var client = daemon.Server.Client();
        await using var events = await client.SubscribeAsync(["switch"]);

        // Between two ticks the board settles at about 77 °C (serious, below the 80 °C throttle point).
        daemon.Board.Step(TimeSpan.FromMinutes(15), utilisation: 0.365);
        daemon.Time.Advance(Tick);

        var switched = await NextEventAsync(events, e => e.Kind == "switch", "switch");
        Assert.Equal(("a", "b", nameof(DecisionReason.ThermalSerious)), (switched.Switch!.From, switched.Switch.To, switched.Switch.Code));
        Assert.Contains("serious thermal state", switched.Switch.Reason);
        var status = await client.StatusAsync();
        Assert.Equal("serious", status.ThermalState);
        Assert.Equal("b", Assert.Single(status.Models).CurrentVariant);
    }

    [Fact]
    public async Task Without_adaptation_sensors_are_reported_but_the_variant_stays()
    {
        await using var daemon = await StartOnSimulatedPiAsync(o => o.Adaptive = false);
        var client = daemon.Server.Client();
        daemon.Board.Step(TimeSpan.FromMinutes(15), utilisation: 0.365);
        daemon.Time.Advance(Tick);

        var status = await client.StatusAsync();
        Assert.Equal("serious", status.ThermalState);
        Assert.False(status.Governor!.Adaptive);
        var model = Assert.Single(status.Models);
        Assert.Equal(("a", 0L), (model.CurrentVariant, model.Switches));
        Assert.Empty(model.Decisions);
    }

    [Fact]
    public async Task App_hints_steer_the_governor_and_a_pinned_variant_holds_it()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var client = daemon.Server.Client();

        var bad = await Assert.ThrowsAsync<EdgertException>(() => client.SetHintsAsync(new Dictionary<string, string> { ["slo_p95_ms"] = "fast" }));
        Assert.Equal(ErrorCode.InvalidRequest, bad.Code);
        Assert.Contains("'slo_p95_ms' must be a number", bad.Message);
        bad = await Assert.ThrowsAsync<EdgertException>(() => client.SetHintsAsync(new Dictionary<string, string> { ["priority"] = "urgent" }));
        Assert.Contains("\"foreground\" or \"background\"", bad.Message);
        bad = await Assert.ThrowsAsync<EdgertException>(() => client.SetHintsAsync(new Dictionary<string, string> { ["quality_floor"] = "-0.5" }));
        Assert.Contains("'quality_floor' must be a number of at least 0", bad.Message);
        Assert.Empty(Assert.Single((await client.StatusAsync()).Models).Hints);

        // An SLO only "b" comes close to: the governor leaves "a" at once.
        await client.SetHintsAsync(new Dictionary<string, string> { ["slo_p95_ms"] = "8" });
        daemon.Time.Advance(Tick);
        var model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal("b", model.CurrentVariant);
        Assert.Equal(nameof(DecisionReason.SloRisk), model.Decisions[0].Code);
        Assert.Equal(8, model.Decisions[0].SloP95Ms);

        // A client's pin wins over the governor until it is removed.
        await client.SetHintsAsync(new Dictionary<string, string> { ["variant"] = "a" });
        daemon.Time.Advance(Tick * 4);
        model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal("a", model.CurrentVariant);
        Assert.Contains("pinned by a client", model.Reasons[0]);

        await client.SetHintsAsync(new Dictionary<string, string> { ["variant"] = "", ["slo_p95_ms"] = "" });
        daemon.Time.Advance(Tick);
        Assert.Equal("a", Assert.Single((await client.StatusAsync()).Models).CurrentVariant);

        // Background priority prefers the lighter variant when both fit.
        await client.SetHintsAsync(new Dictionary<string, string> { ["priority"] = "background" });
        daemon.Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Equal("b", Assert.Single((await client.StatusAsync()).Models).CurrentVariant);
    }

    [Fact]
    public async Task A_profile_offered_by_a_client_is_checked_and_a_bad_one_leaves_the_old_in_force()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var client = daemon.Server.Client();
        await using var reloads = await client.SubscribeAsync(["reload"]);
        using var raw = daemon.Server.Raw();
        var builtIn = ProfileCatalog.BuiltIn("raspberry-pi-4");

        async Task<string> RefusedAsync(ReloadRequest request)
        {
            raw.Send(MessageType.Reload, 1, request);
            var (code, message, _) = await raw.ReceiveErrorAsync();
            Assert.Equal(ErrorCode.ReloadFailed, code);
            Assert.EndsWith("version 1 stays in force", message);
            return message;
        }

        Assert.Contains("not a valid profile", await RefusedAsync(new ReloadRequest { Kind = "profile", Profile = "{ \"schema_version\": 1, " }));
        Assert.Contains("policy.tick_seconds", await RefusedAsync(new ReloadRequest
        {
            Kind = "profile",
            Profile = ProfileJson.Serialize(builtIn with { Version = 2, Policy = builtIn.Policy with { TickSeconds = 0 } }),
        }));
        Assert.Contains("device class 'jetson-nano'", await RefusedAsync(new ReloadRequest
        {
            Kind = "profile",
            Profile = ProfileJson.Serialize(builtIn with { Version = 2, DeviceClass = "jetson-nano" }),
        }));
        Assert.Contains("does not exist", await RefusedAsync(new ReloadRequest { Kind = "profile", Path = daemon.Server.Directory["missing.json"] }));
        Assert.Contains("not a .json file", await RefusedAsync(new ReloadRequest { Kind = "profile", Path = "/etc/passwd" }));

        var status = await client.StatusAsync();
        Assert.Equal((1L, "built-in"), (status.Governor!.ProfileVersion, status.Governor.ProfileFrom));
        Assert.Contains("jetson-nano", status.Governor.ProfileRefusal);
        Assert.Equal(Tick.TotalMilliseconds, status.Governor.TickMs);

        // A good, newer one is taken at once; its tick interval applies from then on.
        string path = daemon.Server.Directory["v2.json"];
        File.WriteAllText(path, ProfileJson.Serialize(builtIn with { Version = 2, Policy = builtIn.Policy with { TickSeconds = 0.25 } }));
        raw.Send(MessageType.Reload, 2, new ReloadRequest { Kind = "profile", Path = path });
        var envelope = await raw.ReceiveAsync();
        Assert.Equal(MessageType.Reload, envelope.Type);
        var accepted = FrameCodec.DecodeBody<ReloadResponse>(envelope);
        Assert.Equal((2L, "raspberry-pi-4", "version 2 in force"), (accepted.ProfileVersion, accepted.DeviceClass, accepted.Detail));
        Assert.Contains("profile raspberry-pi-4 version 2", (await NextEventAsync(reloads, e => e.Kind == "reload", "reload")).Detail);

        long ticks = (await client.StatusAsync()).Governor!.Ticks;
        daemon.Time.Advance(TimeSpan.FromSeconds(1));
        status = await client.StatusAsync();
        Assert.Equal((2L, path, 250.0), (status.Governor!.ProfileVersion, status.Governor.ProfileFrom, status.Governor.TickMs));
        Assert.Null(status.Governor.ProfileRefusal);
        Assert.Equal(ticks + 4, status.Governor.Ticks);

        raw.Send(MessageType.Reload, 3, new ReloadRequest { Kind = "profile", Profile = ProfileJson.Serialize(builtIn) });
        Assert.Contains("older than the current 2", (await raw.ReceiveErrorAsync()).Message);
    }

    [Fact]
    public async Task The_profile_file_is_hot_reloaded_and_a_broken_edit_is_refused()
    {
        using var directory = new TestDirectory();
        string path = directory["profile.json"];
        var builtIn = ProfileCatalog.BuiltIn("raspberry-pi-4");
        File.WriteAllText(path, ProfileJson.Serialize(builtIn with { Version = 5 }));
        await using var daemon = await StartOnSimulatedPiAsync(o => { o.Board = "raspberry-pi-4"; o.ProfilePath = path; });
        var client = daemon.Server.Client();
        var status = await client.StatusAsync();
        Assert.Equal((5L, path, "configured"), (status.Governor!.ProfileVersion, status.Governor.ProfileFrom, status.Governor.BoardReason));

        File.WriteAllText(path, ProfileJson.Serialize(builtIn with { Version = 6, Policy = builtIn.Policy with { DwellUpSeconds = 3 } }));
        daemon.Time.Advance(Tick);
        Assert.Equal(6, (await client.StatusAsync()).Governor!.ProfileVersion);

        File.WriteAllText(path, "{ \"schema_version\": 1, \"device_class\": \"raspberry-pi-4\", \"version\": 7 }");
        daemon.Time.Advance(Tick);
        status = await client.StatusAsync();
        Assert.Equal(6, status.Governor!.ProfileVersion);
        Assert.Contains(path, status.Governor.ProfileRefusal);

        // Asked to re-read it, the daemon gives the same answer.
        using var raw = daemon.Server.Raw();
        raw.Send(MessageType.Reload, 1, new ReloadRequest { Kind = "profile" });
        Assert.Contains("version 6 stays in force", (await raw.ReceiveErrorAsync()).Message);
    }

    [Fact]
    public async Task A_missing_or_foreign_profile_file_or_an_unknown_board_stops_the_start_with_the_reason()
    {
        using var directory = new TestDirectory();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o => o.ProfilePath = directory["none.json"], directory: directory));
        Assert.Contains("none.json", e.Message);

        string foreign = directory["nano.json"];
        File.WriteAllText(foreign, ProfileJson.Serialize(ProfileCatalog.BuiltIn("jetson-nano")));
        e = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o => { o.Board = "raspberry-pi-4"; o.ProfilePath = foreign; }, directory: directory));
        Assert.Contains("device class 'jetson-nano', but this board is 'raspberry-pi-4'", e.Message);

        e = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o => o.Board = "commodore-64", directory: directory));
        Assert.Contains("unknown board 'commodore-64'", e.Message);
        Assert.Contains("raspberry-pi-4", e.Message);

        e = await Assert.ThrowsAsync<ArgumentException>(() => TestServer.StartAsync(o => o.SysfsRoot = directory["no-such-tree"], directory: directory));
        Assert.Contains("SysfsRoot", e.Message);
        Assert.False(File.Exists(Path.Combine(directory["run"], ServerOptions.DefaultSocketName)));
    }

    [Fact]
    public async Task A_reloaded_bundle_gets_a_governor_of_its_own()
    {
        await using var daemon = await StartOnSimulatedPiAsync();
        var client = daemon.Server.Client();
        await client.ReloadAsync(TestBundles.CostedPair(daemon.Server.Directory["costed-v2"], Pi4.Id));
        daemon.Board.Step(TimeSpan.FromMinutes(15), utilisation: 0.365);
        daemon.Time.Advance(Tick);
        var model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal(("b", 1L), (model.CurrentVariant, model.Reloads));
        Assert.Equal(nameof(DecisionReason.ThermalSerious), model.LastSwitch!.Code);
    }
}
