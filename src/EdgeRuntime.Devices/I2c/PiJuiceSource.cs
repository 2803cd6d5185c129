using System.Device.I2c;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;
using Iot.Device.PiJuiceDevice;
using Iot.Device.PiJuiceDevice.Models;

namespace EdgeRuntime.Devices.I2c;

/// <summary>
/// The PiJuice battery HAT: charge level, battery voltage and current, and whether it is charging or on external
/// power; reported as a battery power supply so the governor sees it like any other battery.
/// </summary>
public sealed class PiJuiceSource(I2cChipDescriptor chip, II2cDeviceFactory factory) : I2cChipSource(chip, factory)
{
    protected override IReadOnlyList<(string Quantity, string Unit)> Quantities { get; } =
        [("charge", "%"), ("voltage", "V"), ("current", "A")];

    protected override IDisposable Open(I2cDevice device) => new PiJuice(device, shouldDispose: false);

    protected override void ReadChip(DeviceSnapshotBuilder snapshot, IDisposable binding)
    {
        var piJuice = (PiJuice)binding;
        var status = new PiJuiceStatus(piJuice);
        var state = status.GetStatus();
        double charge = status.GetChargeLevel();
        double volts = status.GetBatteryVoltage().Volts;
        double amperes = status.GetBatteryCurrent().Amperes;
        string batteryStatus = state.Battery switch
        {
            BatteryState.Normal => state.PowerInput == PowerInState.Present || state.PowerInput5VoltInput == PowerInState.Present ? "Full" : "Discharging",
            BatteryState.ChargingFromIn or BatteryState.ChargingFrom5VoltInput => "Charging",
            BatteryState.NotPresent => "Unknown",
            _ => "Unknown",
        };
        var batteryPresent = state.Battery != BatteryState.NotPresent;
        var capacity = batteryPresent
            ? PlausibleRange.Check(Reading<double>.Ok(charge), $"{Chip.Name} charge", 0, 100, "%")
            : Reading<double>.Unavailable($"{Chip.Name} reports no battery");
        var voltage = PlausibleRange.Check(Reading<double>.Ok(volts), $"{Chip.Name} battery voltage", 0, 5.5, "V");
        var current = PlausibleRange.Check(Reading<double>.Ok(amperes), $"{Chip.Name} battery current", -5, 5, "A");
        snapshot.AddPowerSupply(new PowerSupplyReading(
            Chip.Name,
            "Battery",
            capacity,
            batteryPresent ? Reading<string>.Ok(batteryStatus) : Reading<string>.Unavailable($"{Chip.Name} reports no battery"),
            voltage,
            current,
            voltage.IsOk && current.IsOk ? Reading<double>.Ok(Math.Abs(volts * amperes)) : Reading<double>.Unavailable("voltage or current unavailable"),
            Reading<bool>.Unavailable("a battery has no online attribute")));
    }
}
