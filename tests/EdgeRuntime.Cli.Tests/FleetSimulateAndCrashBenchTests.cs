namespace EdgeRuntime.Cli.Tests;

public sealed class FleetSimulateAndCrashBenchTests
{
    [Fact]
    public async Task Fleet_simulate_refuses_too_small_a_fleet_naming_the_option()
    {
        using var temp = new TempDirectory();
        var result = await Cli.RunAsync("fleet", "simulate", "--devices", "2", "--out", temp.Path);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("devices", result.Error);
    }

    [Fact]
    public async Task Crash_bench_refuses_a_bad_kill_count_and_a_directory_in_use()
    {
        using var temp = new TempDirectory();
        var zero = await Cli.RunAsync("telemetry", "crash-bench", "--kills", "0");
        Assert.NotEqual(0, zero.ExitCode);
        Assert.Contains("--kills", zero.Error);
        File.WriteAllText(temp.File("something"), "x");
        var used = await Cli.RunAsync("telemetry", "crash-bench", "--kills", "5", "--dir", temp.Path);
        Assert.NotEqual(0, used.ExitCode);
        Assert.Contains("not empty", used.Error);
    }
}
