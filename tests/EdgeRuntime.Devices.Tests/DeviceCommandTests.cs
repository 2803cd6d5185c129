using System.Text.Json;
using EdgeRuntime.Cli;

namespace EdgeRuntime.Devices.Tests;

/// <summary>`edgert device` run in-process, as a user would run it against a simulated tree.</summary>
public sealed class DeviceCommandTests
{
    private static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await EdgertCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Device_on_a_simulated_raspberry_pi_4_tree_shows_what_the_board_would()
    {
        using var tree = new TempTree();
        string traceFile = Path.Combine(tree.Directory, "trace.jsonl");
        string simulated = Path.Combine(tree.Directory, "pi4");
        var (code, output, error) = await Run("device", "simulate", "--out", simulated, "--seconds", "400", "--idle-seconds", "0", "--step", "2", "--trace", traceFile);
        Assert.True(code == 0, error);
        Assert.Contains("1500      1000", output);
        Assert.Equal(200, File.ReadAllLines(traceFile).Length);

        (code, output, error) = await Run("device", "--sysfs-root", simulated);
        Assert.True(code == 0, error);
        Assert.Contains("board: raspberry-pi-4", output);
        Assert.Contains("device-tree model 'Raspberry Pi 4 Model B Rev 1.4'", output);
        Assert.Contains("thermal_zone0  cpu-thermal", output);
        Assert.Contains("policy0", output);
        Assert.Contains("soft_temperature_limit_occurred", output);
        Assert.Contains("battery battery:", output);
        Assert.Contains("gpio:", output);

        (code, output, error) = await Run("device", "--sysfs-root", simulated, "--json", "--count", "2", "--interval", "0.01");
        Assert.True(code == 0, error);
        var reports = output.Split("}\n{");
        Assert.Equal(2, reports.Length);
        using var json = JsonDocument.Parse(reports[0] + "}");
        Assert.Equal("raspberry-pi-4", json.RootElement.GetProperty("board").GetString());
        var zone = json.RootElement.GetProperty("readings").GetProperty("thermal_zones")[0];
        Assert.Equal("ok", zone.GetProperty("celsius").GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(new[] { "device", "--sysfs-root", "/nonexistent-edgert-root" }, "is not a directory")]
    [InlineData(new[] { "device", "--board", "commodore-64" }, "unknown board 'commodore-64'")]
    [InlineData(new[] { "device", "--interval", "0", "--watch" }, "--interval")]
    [InlineData(new[] { "device", "simulate", "--out", "/" }, "must not be '/'")]
    [InlineData(new[] { "device", "simulate", "--out", "x", "--load", "2" }, "--load")]
    [InlineData(new[] { "device", "simulate", "--out", "x", "--board", "android-phone" }, "no simulation")]
    public async Task Bad_arguments_are_explained_without_a_crash(string[] args, string expected)
    {
        var (code, _, error) = await Run(args);
        Assert.NotEqual(0, code);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task Boards_lists_every_descriptor()
    {
        var (code, output, _) = await Run("device", "boards");
        Assert.Equal(0, code);
        foreach (string id in new[] { "raspberry-pi-4", "raspberry-pi-5", "jetson-nano", "jetson-orin-nano", "generic-linux", "android-phone" })
        {
            Assert.Contains(id, output);
        }
    }
}
