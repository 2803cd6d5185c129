using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.I2c;
using EdgeRuntime.Devices.Sources;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Devices.Tests;

public sealed class FaultTests
{
    private static DeviceMonitor Monitor(TempTree tree, FakeTimeProvider clock, params ISensorSource[] sources) =>
        new("test", sources, new DeviceMonitorOptions { StuckAfter = TimeSpan.FromMinutes(5) }, clock, new ThermalThresholds(60, 70, 80));

    private static ThermalZoneReading ReadZone(TempTree tree, string temp)
    {
        tree.Raw("/sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
        tree.Raw("/sys/class/thermal/thermal_zone0/temp", temp);
        using var monitor = Monitor(tree, new FakeTimeProvider(), new ThermalZoneSource(tree.Root, ["/sys/class/thermal/thermal_zone*"]));
        return Assert.Single(monitor.Read().ThermalZones);
    }

    [Theory]
    [InlineData("45678\n", 45.678)]
    [InlineData("-5000\n", -5.0)]
    public void A_good_temperature_is_read_in_degrees(string text, double celsius)
    {
        using var tree = new TempTree();
        var zone = ReadZone(tree, text);
        Assert.True(zone.Celsius.TryGetValue(out double value));
        Assert.Equal(celsius, value, 1e-9);
    }

    [Theory]
    [InlineData("garbage\n", "not an integer")]
    [InlineData("", "is empty")]
    [InlineData("-273000\n", "outside the plausible")]
    [InlineData("200000\n", "outside the plausible")]
    [InlineData("45.5\n", "not an integer")]
    public void Garbage_and_out_of_range_temperatures_are_unavailable_with_a_reason(string text, string reason)
    {
        using var tree = new TempTree();
        var zone = ReadZone(tree, text);
        Assert.Equal(ReadingStatus.Unavailable, zone.Celsius.Status);
        Assert.Contains(reason, zone.Celsius.Reason);
    }

    [Fact]
    public void A_missing_file_is_unavailable_and_counted_against_its_source()
    {
        using var tree = new TempTree();
        tree.Raw("/sys/class/thermal/thermal_zone0/type", "cpu-thermal\n");
        using var monitor = Monitor(tree, new FakeTimeProvider(), new ThermalZoneSource(tree.Root, ["/sys/class/thermal/thermal_zone*"]),
            new CpuFreqSource(tree.Root, ["/sys/devices/system/cpu/cpufreq/policy*"]));
        var snapshot = monitor.Read();
        monitor.Read();
        var zone = Assert.Single(snapshot.ThermalZones);
        Assert.Contains("/sys/class/thermal/thermal_zone0/temp does not exist", zone.Celsius.Reason);
        Assert.Equal(ReadingStatus.Unavailable, snapshot.HottestCelsius.Status);
        var thermal = monitor.GetHealth().Single(h => h.Source == "thermal");
        Assert.Equal((2, 0, 2, 0), (thermal.Reads, thermal.Ok, thermal.Unavailable, thermal.Faults));
        var cpufreq = monitor.GetHealth().Single(h => h.Source == "cpufreq");
        Assert.Contains("no cpufreq policy", cpufreq.LastProblem);
    }

    [Fact]
    public void A_sensor_stuck_at_one_value_for_too_long_becomes_stale_and_recovers_when_it_moves()
    {
        using var tree = new TempTree();
        var clock = new FakeTimeProvider();
        tree.Writer.WriteThermalZone(0, "cpu-thermal", 50);
        using var monitor = Monitor(tree, clock, new ThermalZoneSource(tree.Root, ["/sys/class/thermal/thermal_zone*"]));
        Assert.True(monitor.Read().ThermalZones[0].Celsius.IsOk);
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.True(monitor.Read().ThermalZones[0].Celsius.IsOk);
        clock.Advance(TimeSpan.FromMinutes(2));
        var stale = monitor.Read().ThermalZones[0].Celsius;
        Assert.Equal(ReadingStatus.Stale, stale.Status);
        Assert.Equal(50, stale.Value);
        Assert.Contains("stuck at 50", stale.Reason);
        Assert.Equal(ReadingStatus.Unavailable, monitor.Read().HottestCelsius.Status);
        Assert.Equal(2, monitor.GetHealth().Single().Stale);

        tree.Writer.WriteThermalZone(0, "cpu-thermal", 50.1);
        Assert.True(monitor.Read().ThermalZones[0].Celsius.IsOk);
    }

    [Fact]
    public void A_source_that_throws_is_a_counted_fault_and_the_others_still_read()
    {
        using var tree = new TempTree();
        tree.Writer.WriteThermalZone(0, "cpu-thermal", 42);
        using var monitor = Monitor(tree, new FakeTimeProvider(), new ThrowingSource(), new ThermalZoneSource(tree.Root, ["/sys/class/thermal/thermal_zone*"]));
        var snapshot = monitor.Read();
        Assert.Equal(42, snapshot.HottestCelsius.Value, 1e-9);
        var broken = monitor.GetHealth().Single(h => h.Source == "broken");
        Assert.Equal(1, broken.Faults);
        Assert.Contains("InvalidCastException: boom", broken.LastProblem);
    }

    [Fact]
    public void An_i2c_bus_error_becomes_unavailable_readings_with_the_reason_and_recovers()
    {
        var device = new Ina219Chip(1, 0x40);
        var chip = new I2cChipDescriptor { Chip = "ina219", Name = "5v-in", Address = "0x40", ShuntOhms = 0.1, MaxCurrentAmperes = 3.2 };
        using var monitor = Monitor(new TempTree(), new FakeTimeProvider(), new PowerMonitorSource(chip, new SingleDeviceFactory(device)));
        device.Fault = "Error 121 performing I2C data transfer";
        var failed = monitor.Read();
        Assert.Equal(3, failed.Sensors.Count);
        Assert.All(failed.Sensors, s => Assert.Contains("Error 121", s.Value.Reason));
        Assert.Equal(3, monitor.GetHealth().Single().Unavailable);

        device.Fault = null;
        device.Set(5.1, 1.2, 3.2);
        var rail = Assert.Single(monitor.Read().PowerRails);
        Assert.Equal(5.1, rail.Volts.Value, 0.01);
    }

    [Theory]
    [InlineData("50005\n", ThrottleFlags.UnderVoltage | ThrottleFlags.Throttled | ThrottleFlags.UnderVoltageOccurred | ThrottleFlags.ThrottledOccurred)]
    [InlineData("0x80008\n", ThrottleFlags.SoftTemperatureLimit | ThrottleFlags.SoftTemperatureLimitOccurred)]
    [InlineData("0\n", ThrottleFlags.None)]
    public void Throttle_flags_are_read_from_the_firmware_node(string text, ThrottleFlags expected)
    {
        using var tree = new TempTree();
        tree.Raw("/sys/devices/platform/soc/soc:firmware/get_throttled", text);
        var source = new RaspberryPiThrottleSource(tree.Root, ["/sys/devices/platform/soc/soc:firmware/get_throttled"], null);
        using var monitor = Monitor(tree, new FakeTimeProvider(), source);
        Assert.Equal(expected, monitor.Read().Throttle.Value);
    }

    [Fact]
    public void Throttle_flags_fall_back_to_vcgencmd_and_report_why_when_both_fail()
    {
        using var tree = new TempTree();
        string[] paths = ["/sys/devices/platform/soc/soc:firmware/get_throttled"];
        using var good = Monitor(tree, new FakeTimeProvider(), new RaspberryPiThrottleSource(tree.Root, paths, new FixedCommand(Reading<string>.Ok("throttled=0x20002\n"))));
        Assert.Equal(ThrottleFlags.FrequencyCapped | ThrottleFlags.FrequencyCappedOccurred, good.Read().Throttle.Value);
        using var bad = Monitor(tree, new FakeTimeProvider(), new RaspberryPiThrottleSource(tree.Root, paths, new FixedCommand(Reading<string>.Unavailable("vcgencmd is not installed"))));
        var reading = bad.Read().Throttle;
        Assert.Contains("no get_throttled node", reading.Reason);
        Assert.Contains("vcgencmd is not installed", reading.Reason);
        using var garbage = Monitor(tree, new FakeTimeProvider(), new RaspberryPiThrottleSource(tree.Root, paths, new FixedCommand(Reading<string>.Ok("error=1 error_msg=\"bad\""))));
        Assert.Contains("expected throttled=0x", garbage.Read().Throttle.Reason);
    }

    [Fact]
    public void Power_supplies_report_battery_and_adapter_and_reject_impossible_capacity()
    {
        using var tree = new TempTree();
        tree.Writer.WriteBattery("BAT0", 64, "Discharging", 11.4, -1.5);
        tree.Writer.WriteMains("AC", false);
        var source = new PowerSupplySource(tree.Root, ["/sys/class/power_supply/*"]);
        using var monitor = Monitor(tree, new FakeTimeProvider(), source);
        var snapshot = monitor.Read();
        Assert.Equal(64, snapshot.Battery!.CapacityPercent.Value);
        Assert.Equal(17.1, snapshot.Battery.Watts.Value, 0.01);
        Assert.False(snapshot.ExternalPower.Value);
        Assert.Equal(0, monitor.GetHealth().Single().Unavailable);

        tree.Raw("/sys/class/power_supply/BAT0/capacity", "250\n");
        Assert.Contains("outside the plausible 0..100", monitor.Read().Battery!.CapacityPercent.Reason);
    }

    [Fact]
    public void Load_and_memory_are_read_and_malformed_proc_files_explained()
    {
        using var tree = new TempTree();
        tree.Writer.WriteLoad(1.25);
        tree.Writer.WriteMemory(4L << 30, 1L << 30);
        using var monitor = Monitor(tree, new FakeTimeProvider(), new LoadMemorySource(tree.Root));
        var snapshot = monitor.Read();
        Assert.Equal(1.25, snapshot.LoadAverage1Min.Value);
        Assert.Equal(4L << 30, snapshot.MemoryTotalBytes.Value);
        tree.Raw("/proc/loadavg", "lots\n");
        tree.Raw("/proc/meminfo", "MemTotal: many kB\n");
        snapshot = monitor.Read();
        Assert.Contains("expected three load averages", snapshot.LoadAverage1Min.Reason);
        Assert.Contains("expected a size in kB", snapshot.MemoryTotalBytes.Reason);
        Assert.Contains("no MemAvailable line", snapshot.MemoryAvailableBytes.Reason);
    }

    [Fact]
    public void Android_headroom_is_polled_at_most_once_a_second_and_maps_to_a_thermal_state()
    {
        var clock = new FakeTimeProvider();
        double headroom = 0.3;
        var source = new AndroidThermalSource(() => headroom, () => AndroidThermalStatus.Light, clock);
        using var monitor = new DeviceMonitor("android-phone", [source], new DeviceMonitorOptions(), clock);
        Assert.Equal(ThermalState.Nominal, monitor.Read().ThermalState);
        headroom = 0.9;
        Assert.Equal(ThermalState.Nominal, monitor.Read().ThermalState);
        Assert.Equal(1, source.PlatformPolls);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ThermalState.Serious, monitor.Read().ThermalState);
        Assert.Equal(2, source.PlatformPolls);
        headroom = double.NaN;
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Contains("NaN", monitor.Read().Sensors.Single(s => s.Quantity == "thermal_headroom").Value.Reason);
        Assert.Equal(ThermalState.Critical, AndroidThermal.FromStatus(AndroidThermalStatus.Emergency));
        Assert.Equal(ThermalState.Fair, AndroidThermal.FromHeadroom(0.6));
    }

    [Fact]
    public void Thermal_state_rises_at_once_and_falls_only_past_the_hysteresis()
    {
        var thresholds = new ThermalThresholds(60, 70, 80, 2);
        Assert.Equal(ThermalState.Serious, thresholds.Classify(71, ThermalState.Nominal));
        Assert.Equal(ThermalState.Serious, thresholds.Classify(69, ThermalState.Serious));
        Assert.Equal(ThermalState.Fair, thresholds.Classify(67.9, ThermalState.Serious));
        Assert.Throws<ArgumentException>(() => new ThermalThresholds(70, 60, 80).Validate());
    }

    [Fact]
    public void Readings_serialise_with_their_status_so_a_missing_value_is_never_a_zero()
    {
        var json = System.Text.Json.JsonSerializer.Serialize(new[] { Reading<double>.Ok(0), Reading<double>.Unavailable("gone"), Reading<double>.Stale(3, "stuck") });
        Assert.Equal("""[{"status":"ok","value":0},{"status":"unavailable","reason":"gone"},{"status":"stale","value":3,"reason":"stuck"}]""", json);
        var back = System.Text.Json.JsonSerializer.Deserialize<Reading<double>[]>(json)!;
        Assert.Equal(ReadingStatus.Unavailable, back[1].Status);
        Assert.Equal("stuck", back[2].Reason);
    }

    private sealed class ThrowingSource : ISensorSource
    {
        public string Name => "broken";

        public void ReadInto(DeviceSnapshotBuilder snapshot) => throw new InvalidCastException("boom");
    }

    private sealed class FixedCommand(Reading<string> output) : ICommandRunner
    {
        public Reading<string> Run(string fileName, params string[] arguments) => output;
    }
}
