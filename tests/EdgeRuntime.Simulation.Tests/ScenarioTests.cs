using System.Text.Json;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

public sealed class ScenarioTests
{
    private static readonly BoardCatalog Boards = BoardCatalog.BuiltIn();

    // Board figures (recorded costs): the reference at 0.9 ms on the Pi 4, an int8 at 0.6, a pruned one at 0.3.
    private static readonly SimulatedVariant[] Variants =
    [
        new("fp32", 0.906, 0.9, 1.0),
        new("int8", 0.905, 0.6, 0.68),
        new("pruned", 0.893, 0.3, 0.34),
    ];

    private static Scenario Parse(string json) => Scenario.Parse(json, "test.json", Boards);

    private static string Segments(string segments, string board = "raspberry-pi-4", string extra = "") =>
        $$"""{"name": "t", "board": "{{board}}", "duration": "1h", "seed": 2{{extra}}, "segments": [{{segments}}]}""";

    [Fact]
    public void The_issue_example_parses_with_carry_over_and_ramps()
    {
        // The issue's example without its fan line: the Pi 4 model moves no air with its fan (fan_conductance 0).
        var scenario = Parse("""
            {"name": "heat-wave", "board": "raspberry-pi-4", "duration": "2h", "seed": 7,
             "segments": [
               {"at": "0m",  "load": 0.3, "ambient_c": 22, "power": "mains"},
               {"at": "30m", "load": 0.9, "ramp": true},
               {"at": "60m", "ambient_c": 42, "ramp": true},
               {"at": "80m", "power": "battery", "battery_percent": 55},
               {"at": "100m", "load": 0.5}]}
            """);
        Assert.Equal(7200, scenario.DurationSeconds);
        Assert.Equal(7, scenario.Seed);
        var timeline = new ScenarioTimeline(scenario);
        Assert.Equal((0.3, DemandUnit.Load), timeline.BaseDemandAt(10 * 60));
        // The load ramp runs from its segment's time to the next one's: 0.3 at 30m, 0.6 at 45m, 0.9 from 60m on.
        Assert.Equal(0.3, timeline.BaseDemandAt(30 * 60).Value, 9);
        Assert.Equal(0.6, timeline.BaseDemandAt(45 * 60).Value, 9);
        Assert.Equal(0.9, timeline.BaseDemandAt(70 * 60).Value, 9);
        Assert.Equal(0.5, timeline.BaseDemandAt(100 * 60).Value, 9);
        // Ambient carries over until its ramp: 22 until 60m, 32 at 70m, 42 from 80m.
        Assert.Equal(22, timeline.AmbientAt(50 * 60));
        Assert.Equal(32, timeline.AmbientAt(70 * 60)!.Value, 9);
        Assert.Equal(42, timeline.AmbientAt(90 * 60));
        Assert.Equal(3, timeline.SegmentAt(85 * 60));
    }

    [Fact]
    public void Bursts_multiply_the_rate_in_their_on_part_until_cleared()
    {
        var timeline = new ScenarioTimeline(Parse(Segments("""
            {"at": "0s", "rate": 100},
            {"at": "60s", "burst": {"every": "30s", "on": "5s", "factor": 4}},
            {"at": "180s", "burst": false}
            """)));
        Assert.Equal(100, timeline.RateAt(30, 0.001));
        Assert.Equal(400, timeline.RateAt(62, 0.001));
        Assert.Equal(100, timeline.RateAt(70, 0.001));
        Assert.Equal(400, timeline.RateAt(91, 0.001));
        Assert.Equal(100, timeline.RateAt(181, 0.001));
    }

    [Theory]
    [InlineData("""{"at": "0m", "load": 0.5, "lod": 0.4}""", "unknown field 'lod'")]
    [InlineData("""{"at": "0m", "load": 0.5}, {"at": "20m", "load": 0.6}, {"at": "10m", "load": 0.7}""", "time out of order")]
    [InlineData("""{"at": "0m", "load": -0.3}""", "load must be within 0..2")]
    [InlineData("""{"at": "0m", "rate": -5}""", "rate must not be negative")]
    [InlineData("""{"at": "0m", "load": 0.5}, {"at": "10m", "ambient_c": 40, "ramp": true}""", "ramp on ambient_c without a previous value")]
    [InlineData("""{"at": "0m", "rate": 300}, {"at": "10m", "load": 0.9, "ramp": true}""", "ramp on load without a previous value")]
    [InlineData("""{"at": "5m", "load": 0.5}""", "must start at 0s")]
    [InlineData("""{"at": "0m", "ambient_c": 20}""", "must set load or rate")]
    [InlineData("""{"at": "0m", "load": 0.5, "fan": "failed"}""", "has no fan")]
    [InlineData("""{"at": "0m", "load": 0.5, "power": "solar"}""", "power must be \"mains\" or \"battery\"")]
    [InlineData("""{"at": "0m", "load": 0.5, "burst": {"every": "10s", "on": "20s", "factor": 2}}""", "0 < on < every")]
    [InlineData("""{"at": "0m", "load": 0.5}, {"at": "2h", "load": 0.6}""", "at or after the end")]
    [InlineData("""{"at": "soon", "load": 0.5}""", "expected a time")]
    public void Bad_segments_are_refused_naming_what_is_wrong(string segments, string expected)
    {
        var e = Assert.Throws<ScenarioException>(() => Parse(Segments(segments)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Unknown_boards_and_top_level_fields_are_refused()
    {
        var board = Assert.Throws<ScenarioException>(() => Parse(Segments("""{"at": "0m", "load": 0.5}""", board: "raspberry-pi-9")));
        Assert.Contains("unknown board 'raspberry-pi-9'", board.Message);
        Assert.Contains("raspberry-pi-4", board.Message);
        var field = Assert.Throws<ScenarioException>(() => Parse(Segments("""{"at": "0m", "load": 0.5}""", extra: ", \"sead\": 3")));
        Assert.Contains("unknown field 'sead'", field.Message);
        var battery = Assert.Throws<ScenarioException>(() => Parse(Segments("""{"at": "0m", "load": 0.5, "power": "battery"}""", board: "raspberry-pi-5")));
        Assert.Contains("has no battery", battery.Message);
        Assert.Throws<ScenarioException>(() => Parse("[1, 2]"));
        Assert.Throws<ScenarioException>(() => Parse("{\"name\": "));
    }

    [Fact]
    public void Load_of_the_lightest_variant_sizes_the_rate_by_its_time_and_is_refused_when_misspelt()
    {
        Assert.Equal(LoadBasis.Reference, Parse(Segments("""{"at": "0m", "load": 0.5}""")).LoadOf);
        var lightest = Parse(Segments("""{"at": "0m", "load": 0.6}""", extra: ", \"load_of\": \"lightest\""));
        Assert.Equal(LoadBasis.Lightest, lightest.LoadOf);
        var bad = Assert.Throws<ScenarioException>(() => Parse(Segments("""{"at": "0m", "load": 0.6}""", extra: ", \"load_of\": \"fastest\"")));
        Assert.Contains("load_of must be \"reference\" or \"lightest\"", bad.Message);

        using var temp = new TempDirectory();
        var shortRun = lightest with { DurationSeconds = 60 };
        var byLightest = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions { Scenario = shortRun, CostsAreBoardFigures = true }, temp.File("a"));
        var byReference = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions { Scenario = shortRun with { LoadOf = LoadBasis.Reference }, CostsAreBoardFigures = true }, temp.File("b"));
        // 0.6 of the lightest variant's 0.3 ms is 2000 requests/s; of the reference's 0.9 ms, 667.
        Assert.Equal(2000, byLightest.RatePerSecond, 1e-6);
        Assert.Equal(0.6 / 0.0009, byReference.RatePerSecond, 1e-6);
        // The lightest variant runs 60% busy and keeps the SLO; the reference would need 180% of its time.
        Assert.True(byLightest.Outcomes.Single(o => o.Policy == "pruned").SloAttainment >= 0.99);
        Assert.True(byLightest.Outcomes.Single(o => o.Policy == "fp32").SloAttainment < 0.5);
    }

    [Fact]
    public void Among_equally_accurate_variants_the_cheaper_one_is_the_reference_and_served_first()
    {
        using var temp = new TempDirectory();
        SimulatedVariant[] tied = [new("fp32", 0.925, 0.9, 1.0), new("pruned50", 0.925, 0.45, 0.5), new("pruned50-int8", 0.91, 0.3, 0.34)];
        var scenario = Parse(Segments("""{"at": "0m", "load": 0.3, "ambient_c": 25}""")) with { DurationSeconds = 60 };
        var report = AdaptiveSimulation.Run(tied, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions { Scenario = scenario, CostsAreBoardFigures = true }, temp.Path);
        Assert.Equal(["pruned50", "fp32", "pruned50-int8"], report.Variants.Select(v => v.Id));
        Assert.Equal(10 * 0.45, report.SloP95Ms, 1e-9);
        var adaptive = report.Outcomes.Single(o => o.Policy == AdaptiveSimulation.AdaptivePolicy);
        Assert.Equal(1.0, adaptive.ShareByVariant["pruned50"], 1e-9);
    }

    [Fact]
    public void Every_shipped_scenario_parses()
    {
        string folder = Path.Combine(RepositoryRoot(), "devices", "scenarios");
        var files = Directory.GetFiles(folder, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).ToList();
        Assert.True(files.Count >= 5, $"{files.Count} scenarios in {folder}");
        foreach (string file in files)
        {
            var scenario = Scenario.Load(file, Boards);
            Assert.Equal(Path.GetFileNameWithoutExtension(file), scenario.Name);
        }
    }

    [Fact]
    public void The_same_scenario_and_seed_give_byte_identical_outcomes()
    {
        using var temp = new TempDirectory();
        var scenario = Parse(Segments("""
            {"at": "0m", "load": 0.4, "ambient_c": 30, "power": "mains"},
            {"at": "1m", "load": 1.1, "ramp": true, "burst": {"every": "20s", "on": "3s", "factor": 2}},
            {"at": "3m", "power": "battery", "battery_percent": 30},
            {"at": "4m", "ambient_c": 40, "ramp": true}
            """).Replace("\"1h\"", "\"5m\""));
        string Outcomes(string directory)
        {
            var report = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
                new SimulationOptions { Scenario = scenario, CostsAreBoardFigures = true }, directory);
            return JsonSerializer.Serialize(new { report.Outcomes, Switches = report.AdaptiveSwitches.Select(s => $"{s.At:O} {s.Previous}->{s.Variant} {s.Reason}") });
        }
        string first = Outcomes(temp.File("a")), second = Outcomes(temp.File("b"));
        Assert.Equal(first, second);
        // A different seed is a different run.
        var other = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions { Scenario = scenario with { Seed = 3 }, CostsAreBoardFigures = true }, temp.File("c"));
        Assert.NotEqual(first, JsonSerializer.Serialize(new { other.Outcomes, Switches = other.AdaptiveSwitches.Select(s => $"{s.At:O} {s.Previous}->{s.Variant} {s.Reason}") }));
    }

    [Fact]
    public void A_board_on_an_empty_battery_serves_nothing_and_its_windows_fail()
    {
        using var temp = new TempDirectory();
        var scenario = Parse(Segments("""
            {"at": "0m", "load": 0.8, "power": "battery", "battery_percent": 2},
            {"at": "4m", "power": "mains"}
            """).Replace("\"1h\"", "\"6m\""));
        var report = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), ProfileCatalog.BuiltIn("raspberry-pi-4"),
            new SimulationOptions { Scenario = scenario, CostsAreBoardFigures = true }, temp.Path);
        var fp32 = report.Outcomes.Single(o => o.Policy == "fp32");
        // 2% of 6.7 Wh lasts about a minute at ~6 W, then the board is off until mains returns at 4m.
        Assert.InRange(fp32.SecondsOff, 120, 200);
        Assert.True(fp32.Dropped > 0);
        Assert.True(fp32.SloAttainment < 1 - 100.0 / 360, $"{fp32.SloAttainment:P2}");
        Assert.True(fp32.Completed + fp32.Dropped <= fp32.Requests);
    }

    [Fact]
    public void Under_ramps_the_adaptive_run_keeps_the_dwell_and_climbs_one_step_at_a_time()
    {
        using var temp = new TempDirectory();
        // Load and heat ramp up and back down: the governor must step down as they rise and climb back as they fall.
        var scenario = Parse(Segments("""
            {"at": "0m", "load": 0.4, "ambient_c": 22, "power": "mains"},
            {"at": "2m", "load": 1.2, "ramp": true},
            {"at": "8m", "ambient_c": 40, "ramp": true},
            {"at": "14m", "load": 0.4, "ambient_c": 22, "ramp": true}
            """).Replace("\"1h\"", "\"22m\""));
        var profile = ProfileCatalog.BuiltIn("raspberry-pi-4");
        var report = AdaptiveSimulation.Run(Variants, Boards.Get("raspberry-pi-4"), profile,
            new SimulationOptions { Scenario = scenario, CostsAreBoardFigures = true }, temp.Path);
        var order = Variants.Select(v => v.Id).ToList();
        var switches = report.AdaptiveSwitches;
        Assert.Contains(switches, s => order.IndexOf(s.Variant) > order.IndexOf(s.Previous));
        Assert.Contains(switches, s => order.IndexOf(s.Variant) < order.IndexOf(s.Previous));
        var last = DateTimeOffset.MinValue;
        foreach (var s in switches)
        {
            int from = order.IndexOf(s.Previous), to = order.IndexOf(s.Variant);
            if (to < from)
            {
                Assert.Equal(from - 1, to);
                Assert.True((s.At - last).TotalSeconds >= profile.Policy.DwellUpSeconds - 1e-6, $"move up at {s.At:O} only {(s.At - last).TotalSeconds:F1} s after the last switch");
                Assert.Equal(DecisionReason.Headroom, s.Reason);
            }
            last = s.At;
        }
        var adaptive = report.Outcomes[0];
        Assert.True(adaptive.SloAttainment >= 0.99, $"{adaptive.SloAttainment:P2}");
        Assert.Equal(0, adaptive.SecondsThrottled);
    }

    [Fact]
    public void A_battery_horizon_is_the_deployments_and_goes_into_the_profile_and_a_bad_one_is_refused()
    {
        var scenario = Parse(Segments("""{"at": "0m", "load": 0.2}""", extra: """, "battery_horizon": "45m" """));
        Assert.Equal(2700, scenario.BatteryHorizonSeconds);
        var profile = scenario.ApplyTo(ProfileCatalog.BuiltIn("raspberry-pi-4"));
        Assert.Equal(2700, profile.Policy.BatteryHorizonSeconds);
        Assert.Null(Parse(Segments("""{"at": "0m", "load": 0.2}""")).ApplyTo(ProfileCatalog.BuiltIn("raspberry-pi-4")).Policy.BatteryHorizonSeconds);
        Assert.Contains("battery_horizon must be positive", Assert.Throws<ScenarioException>(() =>
            Parse(Segments("""{"at": "0m", "load": 0.2}""", extra: """, "battery_horizon": 0"""))).Message);
        Assert.Contains("board 'raspberry-pi-5' has no battery", Assert.Throws<ScenarioException>(() =>
            Parse(Segments("""{"at": "0m", "load": 0.2}""", board: "raspberry-pi-5", extra: """, "battery_horizon": "1h" """))).Message);
    }

    [Fact]
    public void A_static_variant_that_matches_adaptive_only_by_throttling_longer_is_named_apart_not_as_at_least_as_good()
    {
        static PolicyOutcome Outcome(string policy, double slo, double quality, double throttled) =>
            new(policy, 1000, 1000, slo, quality, 1, 70, throttled, 1, null, 0, new Dictionary<string, double>());
        var report = new SimulationReport("raspberry-pi-5", 1, 100, 3, 3600, Variants,
        [
            Outcome(AdaptiveSimulation.AdaptivePolicy, 0.999, 0.9055, 0),
            Outcome("fp32", 1.0, 0.906, 1594),
            Outcome("int8", 1.0, 0.905, 0),
            Outcome("pruned", 1.0, 0.893, 0),
        ]);
        var verdict = ScenarioVerdict.Of(report);
        Assert.Empty(verdict.StaticsAtLeastAsGood);
        Assert.Equal("fp32", Assert.Single(verdict.StaticsAsGoodOnlyByThrottling).Policy);
        Assert.Contains("as good on both only by throttling: fp32 1594 s", verdict.Summary("fan-failure"));
        // Without throttling, the same figures make it at least as good.
        var fair = ScenarioVerdict.Of(report with { Outcomes = [report.Outcomes[0], Outcome("fp32", 1.0, 0.906, 0), report.Outcomes[2], report.Outcomes[3]] });
        Assert.Equal(["fp32"], fair.StaticsAtLeastAsGood);
    }

    private static string RepositoryRoot()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "EdgeRuntime.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }
        return directory ?? throw new InvalidOperationException("not inside the repository");
    }
}
