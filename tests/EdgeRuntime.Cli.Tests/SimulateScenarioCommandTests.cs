namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert simulate --scenario` as a user runs it, on the embedded fixture's bundle.</summary>
public sealed class SimulateScenarioCommandTests
{
    private const string ShortScenario = """
        {"name": "short", "board": "raspberry-pi-4", "duration": "3m", "seed": 4,
         "segments": [
           {"at": "0s", "load": 0.3, "ambient_c": 25, "power": "mains"},
           {"at": "1m", "burst": {"every": "20s", "on": "4s", "factor": 4}},
           {"at": "2m", "power": "battery", "battery_percent": 50, "burst": false}]}
        """;

    [Fact]
    public async Task The_same_scenario_prints_identical_outcomes_twice_from_recorded_costs()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("short.json"), ShortScenario);
        string cache = temp.File("fixture");
        var first = await Cli.RunAsync("simulate", "--scenario", temp.File("short.json"), "--fixture-cache", cache, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        var second = await Cli.RunAsync("simulate", "--scenario", temp.File("short.json"), "--fixture-cache", cache, "--json");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(first.Output, second.Output);
        Assert.Contains("board cost model", first.Output);
        Assert.Contains("\"scenario\": \"short\"", first.Output);

        var table = await Cli.RunAsync("simulate", "--scenario", temp.File("short.json"), "--fixture-cache", cache, "--out", temp.File("out"));
        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("== short on raspberry-pi-4", table.Output);
        Assert.Contains("short: adaptive SLO", table.Output);
        foreach (string plot in new[] { "load", "temperature", "frequency", "battery", "variant" })
        {
            Assert.True(File.Exists(Path.Combine(temp.File("out"), "short", plot + ".png")), plot);
        }
    }

    [Fact]
    public async Task A_bad_scenario_is_refused_naming_the_segment_and_field()
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("bad.json"), ShortScenario.Replace("\"ambient_c\": 25", "\"ambient\": 25"));
        var result = await Cli.RunAsync("simulate", "--scenario", temp.File("bad.json"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("segment 1", result.Error);
        Assert.Contains("unknown field 'ambient'", result.Error);
        var missing = await Cli.RunAsync("simulate", "--scenario", temp.File("nothing-here.json"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("neither a file nor a folder", missing.Error);
    }
}
