using EdgeRuntime.Simulation;

namespace EdgeRuntime.Simulation.Tests;

/// <summary>The entry points `edgert simulate` and `device simulate` call: option checks and a short real run.</summary>
public sealed class SimulateEntryPointTests
{
    [Theory]
    [InlineData("90s", 90)]
    [InlineData("30m", 1800)]
    [InlineData("1.5h", 5400)]
    public void Durations_take_a_number_and_a_unit(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SimulationRuns.ParseDuration(text));

    [Theory]
    [InlineData("30")]
    [InlineData("-5m")]
    [InlineData("10d")]
    [InlineData("m")]
    public void A_bad_duration_is_named(string text)
    {
        var error = Assert.Throws<ArgumentException>(() => SimulationRuns.ParseDuration(text));
        Assert.Contains($"--duration '{text}'", error.Message);
    }

    [Fact]
    public async Task Device_simulation_checks_its_plan_before_touching_the_disk()
    {
        using var temp = new TempDirectory();
        var load = await Assert.ThrowsAsync<ArgumentException>(() => DeviceSimulation.RunAsync("raspberry-pi-4", null, temp.File("tree"), new SysfsBoardRun.Plan(10, 0, 2, 1), CancellationToken.None));
        Assert.Contains("--load", load.Message);
        var root = await Assert.ThrowsAsync<ArgumentException>(() => DeviceSimulation.RunAsync("raspberry-pi-4", null, "/", new SysfsBoardRun.Plan(10, 0, 1, 1), CancellationToken.None));
        Assert.Contains("--out must not be '/'", root.Message);
        Assert.False(Directory.Exists(temp.File("tree")));
    }

    [Fact]
    public async Task Device_simulation_heats_the_board_writes_its_tree_and_says_where()
    {
        using var temp = new TempDirectory();
        var report = await DeviceSimulation.RunAsync("raspberry-pi-4", null, temp.File("tree"), new SysfsBoardRun.Plan(120, 30, 1, 1), CancellationToken.None);
        Assert.Equal("raspberry-pi-4", report.Board);
        Assert.True(report.PeakCelsius > report.AmbientCelsius, $"peak {report.PeakCelsius} °C at ambient {report.AmbientCelsius} °C");
        Assert.True(Directory.Exists(Path.Combine(report.Root, "sys")), "no sysfs tree under the root");
        using var text = new StringWriter();
        report.WriteText(text);
        Assert.Contains($"tree written to {report.Root}", text.ToString());
    }
}
