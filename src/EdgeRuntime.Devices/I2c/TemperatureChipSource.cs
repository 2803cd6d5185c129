using System.Device.I2c;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;
using Iot.Device.Lm75;
using Iot.Device.Mcp9808;

namespace EdgeRuntime.Devices.I2c;

/// <summary>An MCP9808 or LM75 temperature sensor, reported as a "temperature" sensor reading in °C.</summary>
public sealed class TemperatureChipSource(I2cChipDescriptor chip, II2cDeviceFactory factory) : I2cChipSource(chip, factory)
{
    protected override IReadOnlyList<(string Quantity, string Unit)> Quantities { get; } = [("temperature", "°C")];

    protected override IDisposable Open(I2cDevice device) => Chip.Chip == "mcp9808" ? new Mcp9808(device) : new Lm75(device);

    protected override void ReadChip(DeviceSnapshotBuilder snapshot, IDisposable binding)
    {
        double celsius = binding switch
        {
            Mcp9808 mcp => mcp.Temperature.DegreesCelsius,
            Lm75 lm75 => lm75.Temperature.DegreesCelsius,
            _ => throw new InvalidOperationException($"unexpected binding {binding.GetType().Name}"),
        };
        var reading = double.IsNaN(celsius)
            ? Reading<double>.Unavailable($"{Chip.Name} has no conversion ready")
            : PlausibleRange.Celsius(Reading<double>.Ok(celsius), Chip.Name);
        snapshot.AddSensor(Chip.Name, "temperature", "°C", reading);
    }
}
