using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Devices.Tests;

public sealed class BoardDescriptorTests
{
    private static readonly string[] ExpectedBoards = ["android-phone", "generic-linux", "jetson-nano", "jetson-orin-nano", "raspberry-pi-4", "raspberry-pi-5"];

    public static TheoryData<string> SimulatedBoards => new("generic-linux", "jetson-nano", "jetson-orin-nano", "raspberry-pi-4", "raspberry-pi-5");

    internal static string DevicesDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "devices");
            if (File.Exists(Path.Combine(candidate, "raspberry-pi-4", "board.json")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("the repository's devices/ folder was not found above the test binaries");
    }

    [Fact]
    public void Every_board_is_built_in_and_matches_its_file_in_devices()
    {
        var builtIn = BoardCatalog.BuiltIn();
        Assert.Equal(ExpectedBoards, builtIn.Boards.Select(b => b.Id).Order(StringComparer.Ordinal));
        foreach (string folder in Directory.EnumerateDirectories(DevicesDirectory()).Where(f => File.Exists(Path.Combine(f, "board.json"))))
        {
            var fromFile = BoardCatalog.LoadFile(Path.Combine(folder, "board.json"));
            Assert.Equal(Path.GetFileName(folder), fromFile.Id);
            Assert.Equal(fromFile.Name, builtIn.Get(fromFile.Id).Name);
            Assert.True(File.Exists(Path.Combine(folder, "README.md")), $"{folder} has no README.md");
        }
    }

    [Fact]
    public void A_devices_folder_overrides_the_built_in_descriptor()
    {
        using var tree = new TempTree();
        string folder = Path.Combine(tree.Directory, "devices", "raspberry-pi-4");
        Directory.CreateDirectory(folder);
        string json = File.ReadAllText(Path.Combine(DevicesDirectory(), "raspberry-pi-4", "board.json"))
            .Replace("\"Raspberry Pi 4 Model B (and Compute Module 4)\"", "\"My Pi\"", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "board.json"), json);
        Assert.Equal("My Pi", BoardCatalog.WithDirectory(Path.Combine(tree.Directory, "devices")).Get("raspberry-pi-4").Name);
    }

    [Theory]
    [InlineData("{", "not a valid board descriptor")]
    [InlineData("""{"id": "x", "name": "x", "thermel": {}}""", "thermel")]
    [InlineData("""{"id": "Bad Id", "name": "x"}""", "id 'Bad Id'")]
    [InlineData("""{"id": "x", "name": "x", "thermal": {"thresholds": {"fair_celsius": 80, "serious_celsius": 70, "critical_celsius": 90}}}""", "thermal.thresholds")]
    [InlineData("""{"id": "x", "name": "x", "cpu_freq": {"steps_mhz": [600, 1500]}}""", "strictly decreasing")]
    [InlineData("""{"id": "x", "name": "x", "i2c": [{"chip": "bme280", "name": "a", "address": "0x76"}]}""", "bme280")]
    [InlineData("""{"id": "x", "name": "x", "i2c": [{"chip": "lm75", "name": "a", "address": "0x99"}]}""", "7-bit address")]
    [InlineData("""{"id": "x", "name": "x", "i2c": [{"chip": "ina219", "name": "a", "address": "0x40"}]}""", "shunt_ohms")]
    [InlineData("""{"id": "x", "name": "x", "fan": {"steps": [{"celsius": 60, "level": 2}, {"celsius": 50, "level": 1}]}}""", "fan.steps")]
    [InlineData("""{"id": "x", "name": "x", "thermal": {"zone_globs": ["sys/class/thermal/*"]}}""", "must be absolute")]
    public void Bad_descriptors_are_refused_naming_the_field(string json, string expected)
    {
        var error = Assert.Throws<BoardDescriptorException>(() => BoardCatalog.Parse(json, "test.json"));
        Assert.Contains("test.json", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("Raspberry Pi 4 Model B Rev 1.4", null, "raspberry-pi-4")]
    [InlineData("Raspberry Pi Compute Module 4 Rev 1.0", null, "raspberry-pi-4")]
    [InlineData("Raspberry Pi 5 Model B Rev 1.0", null, "raspberry-pi-5")]
    [InlineData("NVIDIA Jetson Nano Developer Kit", null, "jetson-nano")]
    [InlineData("NVIDIA Jetson Orin Nano Developer Kit", "# R35 (release), REVISION: 4.1, BOARD: t186ref", "jetson-orin-nano")]
    [InlineData(null, "# R32 (release), REVISION: 7.1, GCID: 1, BOARD: t210ref, EABI: aarch64", "jetson-nano")]
    [InlineData("Pine64 RockPro64", null, "generic-linux")]
    [InlineData(null, null, "generic-linux")]
    public void Boards_are_detected_from_the_model_string_and_the_jetson_release_file(string? model, string? release, string expected)
    {
        using var tree = new TempTree();
        if (model is not null)
        {
            tree.Writer.WriteModel(model);
        }
        if (release is not null)
        {
            tree.Raw("/etc/nv_tegra_release", release + "\n");
        }
        var detected = BoardDetector.Detect(tree.Root, BoardCatalog.BuiltIn());
        Assert.Equal(expected, detected.Board.Id);
        Assert.False(string.IsNullOrEmpty(detected.Reason));
    }

    [Fact]
    public void An_android_system_is_recognised_by_its_build_properties()
    {
        using var tree = new TempTree();
        tree.Raw("/system/build.prop", "ro.build.version.sdk=34\n");
        Assert.Equal("android-phone", BoardDetector.Detect(tree.Root, BoardCatalog.BuiltIn()).Board.Id);
    }

    /// <summary>Each board's simulated tree uses its real paths; detection and every reader work on it.</summary>
    [Theory]
    [MemberData(nameof(SimulatedBoards))]
    public void Every_simulated_board_is_detected_and_read_through_its_real_paths(string id)
    {
        using var tree = new TempTree();
        var board = BoardCatalog.BuiltIn().Get(id);
        var clock = new FakeTimeProvider();
        var simulated = new SimulatedBoard(board, tree.Directory, clock.Advance);
        simulated.Step(TimeSpan.FromSeconds(30), 0.8);

        var detected = BoardDetector.Detect(tree.Root, BoardCatalog.BuiltIn());
        Assert.Equal(id, detected.Board.Id);

        using var monitor = DeviceMonitor.ForBoard(board, tree.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, clock);
        var snapshot = monitor.Read();
        Assert.Equal(board.Simulation!.Zones.Count, snapshot.ThermalZones.Count);
        Assert.All(snapshot.ThermalZones, z => Assert.True(z.Celsius.IsOk, z.Celsius.ToString()));
        Assert.Equal(board.Simulation.Zones.Select(z => z.Type), snapshot.ThermalZones.Select(z => z.Type));
        Assert.Equal(simulated.Celsius, snapshot.ThermalZones.First(z => z.Type == board.Simulation.Zones.First(s => s.OffsetCelsius == 0).Type).Celsius.Value, 0.5);
        Assert.Equal(simulated.FrequencyMhz, snapshot.CpuMhz.Value, 0.01);
        Assert.Equal(board.CpuFreq.StepsMhz[0], snapshot.CpuPolicies[0].HardwareMaxMhz.Value, 0.01);
        Assert.Equal(0.8 * board.CpuFreq.Cores, snapshot.LoadAverage1Min.Value, 0.01);
        Assert.True(snapshot.MemoryTotalBytes.IsOk);
        Assert.Equal(board.Throttle is not null, snapshot.Throttle.IsOk);
        if (board.PowerRails is not null)
        {
            Assert.Contains(snapshot.PowerRails, r => r.Watts.IsOk && r.Watts.Value > 0);
        }
        if (board.PowerModes is not null)
        {
            Assert.Equal(board.PowerModes.Modes[0].Name, snapshot.PowerMode.Value);
        }
        if (board.Simulation.Battery is not null)
        {
            Assert.NotNull(snapshot.Battery);
            Assert.Equal(simulated.BatteryPercent!.Value, snapshot.Battery!.CapacityPercent.Value, 1.0);
        }
        Assert.All(monitor.GetHealth(), h => Assert.Equal(0, h.Faults));
        Assert.All(monitor.GetHealth().Where(h => h.Source is "thermal" or "cpufreq" or "load_memory" or "throttle" or "power_rails" or "power_mode"),
            h => Assert.True(h.Unavailable == 0, $"{h.Source}: {h.LastProblem}"));
    }

    [Fact]
    public void The_jetson_nano_iio_rails_and_nvpmodel_status_are_read()
    {
        using var tree = new TempTree();
        string device = "/sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0";
        string[] names = ["POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"];
        for (int i = 0; i < 3; i++)
        {
            tree.Raw($"{device}/rail_name_{i}", names[i] + "\n");
            tree.Raw($"{device}/in_voltage{i}_input", "5000\n");
            tree.Raw($"{device}/in_current{i}_input", $"{400 * (i + 1)}\n");
            tree.Raw($"{device}/in_power{i}_input", $"{2000 * (i + 1)}\n");
        }
        tree.Raw("/var/lib/nvpmodel/status", "pmode:0001 fmode:quiet\n");
        var board = BoardCatalog.BuiltIn().Get("jetson-nano");
        using var monitor = DeviceMonitor.ForBoard(board, tree.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, new FakeTimeProvider());
        var snapshot = monitor.Read();
        Assert.Equal(names, snapshot.PowerRails.Select(r => r.Rail));
        Assert.Equal([2.0, 4.0, 6.0], snapshot.PowerRails.Select(r => r.Watts.Value));
        Assert.Equal(0.8, snapshot.PowerRails[1].Amperes.Value, 1e-9);
        Assert.Equal("5W", snapshot.PowerMode.Value);
    }
}
