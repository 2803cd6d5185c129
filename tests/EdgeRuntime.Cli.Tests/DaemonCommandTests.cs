using System.Text.Json;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;
using EdgeRuntime.Server;

namespace EdgeRuntime.Cli.Tests;

/// <summary>
/// `edgert status` and `edgert top` against a real daemon in this process, which serves a two-variant bundle
/// on a Raspberry Pi 4 simulated with `edgert device simulate`.
/// </summary>
public sealed class DaemonCommandTests
{
    private const string Board = "raspberry-pi-4";

    /// <summary>The fixture CNN twice: "a" measured as the heavier, "b" as the lighter variant on the board.</summary>
    private static string CostedBundle(string directory)
    {
        Directory.CreateDirectory(directory);
        byte[] model = SampleModels.FashionCnn();
        var costs = new Dictionary<string, DeviceCost>
        {
            ["a"] = new() { LatencyP50Ms = 10, LatencyP95Ms = 12 },
            ["b"] = new() { LatencyP50Ms = 4, LatencyP95Ms = 5 },
        };
        var variants = new List<VariantManifest>();
        foreach (var (id, cost) in costs)
        {
            string path = Path.Combine(directory, $"{id}.onnx");
            File.WriteAllBytes(path, model);
            variants.Add(new VariantManifest
            {
                Id = id,
                File = $"{id}.onnx",
                Sha256 = ModelBundle.ComputeSha256(path),
                SizeBytes = model.Length,
                Costs = new Dictionary<string, DeviceCost> { [Board] = cost },
            });
        }
        var (inputs, outputs) = OrtSignatures.ReadFromFile(Path.Combine(directory, "a.onnx"));
        ManifestJson.WriteAtomically(new BundleManifest
        {
            Name = "fashion-cnn",
            ReferenceVariant = "a",
            CreatedUtc = DateTimeOffset.UnixEpoch,
            Inputs = inputs,
            Outputs = outputs,
            Variants = variants,
        }, Path.Combine(directory, BundleManifest.FileName));
        return directory;
    }

    /// <summary>A daemon on a board that has settled at about 77 °C (serious, below the throttle point) under steady load.</summary>
    private static async Task<EdgertdServer> StartOnHotBoardAsync(TempDirectory temp)
    {
        var simulated = await Cli.RunAsync("device", "simulate", "--out", temp.File("sysfs"), "--board", Board,
            "--seconds", "900", "--idle-seconds", "0", "--load", "0.365", "--ambient", "45", "--step", "60");
        Assert.True(simulated.ExitCode == 0, simulated.ToString());
        var server = new EdgertdServer(new ServerOptions
        {
            RuntimeDirectory = temp.File("run"),
            Bundles = [CostedBundle(temp.File("bundle"))],
            SysfsRoot = temp.File("sysfs"),
            Workers = 1,
            IntraOpThreads = 1,
        });
        await server.StartAsync();
        return server;
    }

    [Fact]
    public async Task Status_json_shows_the_variant_the_governor_chose_and_why()
    {
        using var temp = new TempDirectory();
        await using var server = await StartOnHotBoardAsync(temp);

        var result = await Cli.RunAsync("status", "--socket", server.SocketPath, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var status = JsonDocument.Parse(result.Output);
        var root = status.RootElement;
        var model = root.GetProperty("models")[0];
        Assert.Equal("b", model.GetProperty("current_variant").GetString());
        // The governor keeps deciding in real time: the switch, then (folded into one line) the holds since.
        var reasons = model.GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!).ToList();
        Assert.StartsWith("ThermalSerious: ", reasons[0]);
        Assert.Contains(reasons, r => r.StartsWith("ThermalSerious: a -> b", StringComparison.Ordinal));
        var decision = model.GetProperty("decisions").EnumerateArray().Last();
        Assert.Equal(("ThermalSerious", "a", "b"), (decision.GetProperty("code").GetString(), decision.GetProperty("from").GetString(), decision.GetProperty("to").GetString()));
        Assert.Equal("ThermalSerious", model.GetProperty("last_switch").GetProperty("code").GetString());
        Assert.Equal("serious", root.GetProperty("thermal_state").GetString());
        Assert.InRange(root.GetProperty("sensors").GetProperty("thermal/hottest_c").GetDouble(), 74, 80);
        var governor = root.GetProperty("governor");
        Assert.Equal(Board, governor.GetProperty("board").GetString());
        Assert.Equal(1, governor.GetProperty("profile_version").GetInt64());
        Assert.True(governor.GetProperty("adaptive").GetBoolean());

        var text = await Cli.RunAsync("status", "--socket", server.SocketPath);
        Assert.True(text.ExitCode == 0, text.ToString());
        Assert.Contains("model fashion-cnn: variant b, 1 switch(es)", text.Output);
        Assert.Contains("because: ThermalSerious: a -> b", text.Output);
        Assert.Contains($"board {Board} (detected:", text.Output);
        Assert.Contains("thermal state: serious", text.Output);
    }

    [Fact]
    public async Task Top_once_shows_the_variant_the_reason_and_the_sensors()
    {
        using var temp = new TempDirectory();
        await using var server = await StartOnHotBoardAsync(temp);

        var result = await Cli.RunAsync("top", "--socket", server.SocketPath, "--once");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("fashion-cnn  variant b  switches 1", result.Output);
        Assert.Contains("why: ThermalSerious: ", result.Output);
        Assert.Contains("last switch: a -> b", result.Output);
        Assert.Contains("thermal serious  temperatures: thermal/cpu-thermal_c 7", result.Output);
        Assert.Contains("governor adaptive", result.Output);

        var json = await Cli.RunAsync("top", "--socket", server.SocketPath, "--json");
        Assert.True(json.ExitCode == 0, json.ToString());
        using var snapshot = JsonDocument.Parse(json.Output);
        Assert.Equal("b", snapshot.RootElement.GetProperty("models")[0].GetProperty("current_variant").GetString());
    }

    [Theory]
    [InlineData("status")]
    [InlineData("top", "--once")]
    public async Task A_missing_socket_is_a_one_line_error_with_exit_code_1(params string[] command)
    {
        using var temp = new TempDirectory();
        string socket = temp.File("absent.sock");

        var result = await Cli.RunAsync([.. command, "--socket", socket]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Output);
        string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("edgert: error: ", line);
        Assert.Contains(socket, line);
        Assert.Contains("is edgertd running?", line);
    }

    [Fact]
    public async Task Serve_names_a_bad_board_or_sensor_tree_and_exits_1()
    {
        using var temp = new TempDirectory();
        string bundle = CostedBundle(temp.File("bundle"));
        string socket = temp.File("s.sock");

        var unknown = await Cli.RunAsync("serve", bundle, "--socket", socket, "--board", "commodore-64");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("unknown board 'commodore-64'", unknown.Error);

        var malformed = await Cli.RunAsync("serve", bundle, "--socket", socket, "--board", "My Board");
        Assert.Equal(1, malformed.ExitCode);
        Assert.Contains("Board must be \"auto\" or a board descriptor id", malformed.Error);

        var tree = await Cli.RunAsync("serve", bundle, "--socket", socket, "--sysfs-root", temp.File("no-tree"));
        Assert.Equal(1, tree.ExitCode);
        Assert.Contains("SysfsRoot", tree.Error);
        Assert.False(File.Exists(socket));
    }
}
