using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.I2c;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Devices.Tests;

/// <summary>The Iot.Device.Bindings chips, configured from descriptor entries, read against register-file devices.</summary>
public sealed class I2cChipTests
{
    private static DeviceSnapshot Read(ISensorSource source) =>
        new DeviceMonitor("test", [source], new DeviceMonitorOptions(), new FakeTimeProvider()).Read();

    [Fact]
    public void Ina219_reports_bus_voltage_current_and_power()
    {
        var chip = new Ina219Chip(1, 0x40);
        chip.Set(5.1, 1.2, 3.2);
        var rail = Assert.Single(Read(new PowerMonitorSource(
            new I2cChipDescriptor { Chip = "ina219", Name = "5v-in", Address = "0x40", ShuntOhms = 0.1, MaxCurrentAmperes = 3.2 }, new SingleDeviceFactory(chip))).PowerRails);
        Assert.Equal("5v-in", rail.Rail);
        Assert.Equal(5.1, rail.Volts.Value, 0.004);
        Assert.Equal(1.2, rail.Amperes.Value, 0.001);
        Assert.Equal(6.12, rail.Watts.Value, 0.01);
        // The binding wrote TI's calibration: 0.04096 / (3.2 / 32768 * 0.1) = 4194.
        Assert.Equal(4194, chip.GetRegister16(5));
    }

    [Fact]
    public void Ina236_reports_bus_voltage_signed_current_and_power()
    {
        var chip = new Ina236Chip(1, 0x40);
        chip.Set(5.0, -2.5, 0.008, 5);
        var rail = Assert.Single(Read(new PowerMonitorSource(
            new I2cChipDescriptor { Chip = "ina236", Name = "5v-in", Address = "0x40", ShuntOhms = 0.008, MaxCurrentAmperes = 5 }, new SingleDeviceFactory(chip))).PowerRails);
        Assert.Equal(5.0, rail.Volts.Value, 0.002);
        Assert.Equal(-2.5, rail.Amperes.Value, 0.001);
        Assert.Equal(12.5, rail.Watts.Value, 0.02);
    }

    [Fact]
    public void Ina236_refuses_a_device_that_is_not_one_and_says_so()
    {
        var chip = new Ina236Chip(1, 0x40);
        chip.SetRegister16(0x3F, 0x1234);
        var snapshot = Read(new PowerMonitorSource(
            new I2cChipDescriptor { Chip = "ina236", Name = "5v-in", Address = "0x40", ShuntOhms = 0.008, MaxCurrentAmperes = 5 }, new SingleDeviceFactory(chip)));
        Assert.All(snapshot.Sensors, s => Assert.Contains("doesn't seem to be an INA236", s.Value.Reason));
    }

    [Theory]
    [InlineData(45.25)]
    [InlineData(-10.5)]
    public void Mcp9808_reports_temperature(double celsius)
    {
        var chip = new Mcp9808Chip(1, 0x18);
        chip.Set(celsius);
        var sensor = Assert.Single(Read(new TemperatureChipSource(new I2cChipDescriptor { Chip = "mcp9808", Name = "case-air", Address = "0x18" }, new SingleDeviceFactory(chip))).Sensors);
        Assert.Equal(("case-air", "temperature", "°C"), (sensor.Sensor, sensor.Quantity, sensor.Unit));
        Assert.Equal(celsius, sensor.Value.Value, 1e-6);
    }

    [Fact]
    public void Mcp9808_with_the_wrong_identity_is_unavailable_with_the_bindings_reason()
    {
        var chip = new Mcp9808Chip(1, 0x18);
        chip.SetRegister16(6, 0x0000);
        var sensor = Assert.Single(Read(new TemperatureChipSource(new I2cChipDescriptor { Chip = "mcp9808", Name = "case-air", Address = "0x18" }, new SingleDeviceFactory(chip))).Sensors);
        Assert.Contains("manufacturer", sensor.Value.Reason);
    }

    [Theory]
    [InlineData(30.5)]
    [InlineData(-25.0)]
    public void Lm75_reports_temperature(double celsius)
    {
        var chip = new Lm75Chip(1, 0x48);
        chip.Set(celsius);
        var sensor = Assert.Single(Read(new TemperatureChipSource(new I2cChipDescriptor { Chip = "lm75", Name = "board", Address = "0x48" }, new SingleDeviceFactory(chip))).Sensors);
        Assert.Equal(celsius, sensor.Value.Value, 0.1);
    }

    [Fact]
    public void A_temperature_chip_reading_200_degrees_is_unavailable()
    {
        var chip = new Mcp9808Chip(1, 0x18);
        chip.Set(200);
        var sensor = Assert.Single(Read(new TemperatureChipSource(new I2cChipDescriptor { Chip = "mcp9808", Name = "case-air", Address = "0x18" }, new SingleDeviceFactory(chip))).Sensors);
        Assert.Contains("outside the plausible", sensor.Value.Reason);
    }

    [Fact]
    public void PiJuice_reports_a_battery_supply()
    {
        var chip = new PiJuiceChip(1, 0x14);
        chip.Set(percent: 87, millivolts: 3950, milliamperes: -500, batteryState: 0, powerInput: 0);
        var battery = Read(new PiJuiceSource(new I2cChipDescriptor { Chip = "pijuice", Name = "pijuice", Address = "0x14" }, new SingleDeviceFactory(chip))).Battery;
        Assert.NotNull(battery);
        Assert.Equal(87, battery.CapacityPercent.Value);
        Assert.Equal("Discharging", battery.Status.Value);
        Assert.Equal(3.95, battery.Volts.Value, 1e-9);
        Assert.Equal(-0.5, battery.Amperes.Value, 1e-9);
        Assert.Equal(1.975, battery.Watts.Value, 1e-9);

        chip.Set(percent: 90, millivolts: 4100, milliamperes: 800, batteryState: 1, powerInput: 3);
        var charging = Read(new PiJuiceSource(new I2cChipDescriptor { Chip = "pijuice", Name = "pijuice", Address = "0x14" }, new SingleDeviceFactory(chip))).Battery!;
        Assert.Equal("Charging", charging.Status.Value);
    }

    [Fact]
    public void A_board_descriptors_chips_are_read_through_an_injected_bus()
    {
        var board = BoardCatalog.BuiltIn().Get("raspberry-pi-4");
        var piJuice = new PiJuiceChip(1, 0x14);
        piJuice.Set(50, 3700, -300, 0, 0);
        var ina219 = new Ina219Chip(1, 0x40);
        ina219.Set(5.05, 0.9, 3.2);
        using var tree = new TempTree();
        var factory = new BusFactory(new() { [0x14] = piJuice, [0x40] = ina219 });
        using var monitor = DeviceMonitor.ForBoard(board, tree.Root, new DeviceMonitorOptions { RunBoardTools = false }, new FakeTimeProvider(), factory);
        var snapshot = monitor.Read();
        Assert.Equal(50, snapshot.Battery!.CapacityPercent.Value);
        Assert.Equal(5.05, snapshot.PowerRails.Single(r => r.Rail == "5v-in").Volts.Value, 0.004);
    }

    private sealed class BusFactory(Dictionary<int, RegisterFileI2cDevice> devices) : II2cDeviceFactory
    {
        public System.Device.I2c.I2cDevice Create(int bus, int address) =>
            devices.TryGetValue(address, out var device) ? device : throw new IOException($"no device answers at 0x{address:x2}");
    }
}
