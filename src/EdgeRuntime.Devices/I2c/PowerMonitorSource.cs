using System.Device.I2c;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;
using Iot.Device.Adc;
using UnitsNet;

namespace EdgeRuntime.Devices.I2c;

/// <summary>
/// An INA219 or INA236 current / power monitor on a rail, calibrated from the descriptor's shunt resistance and
/// maximum current; reported as a power rail (volts, amperes, watts).
/// </summary>
public sealed class PowerMonitorSource(I2cChipDescriptor chip, II2cDeviceFactory factory) : I2cChipSource(chip, factory)
{
    protected override IReadOnlyList<(string Quantity, string Unit)> Quantities { get; } = [("voltage", "V"), ("current", "A"), ("power", "W")];

    protected override IDisposable Open(I2cDevice device)
    {
        double shunt = Chip.ShuntOhms!.Value;
        double maxCurrent = Chip.MaxCurrentAmperes!.Value;
        if (Chip.Chip == "ina236")
        {
            return new Ina236(device, ElectricResistance.FromOhms(shunt), ElectricCurrent.FromAmperes(maxCurrent));
        }
        var ina219 = new Ina219(device);
        ina219.Reset();
        // TI's calibration (datasheet eq. 1-2): current LSB = max current / 2^15, cal = 0.04096 / (LSB * Rshunt).
        double currentLsb = maxCurrent / 32768.0;
        ushort calibration = (ushort)Math.Min(65534.0, Math.Floor(0.04096 / (currentLsb * shunt)));
        ina219.SetCalibration(calibration, (float)currentLsb);
        return ina219;
    }

    protected override void ReadChip(DeviceSnapshotBuilder snapshot, IDisposable binding)
    {
        (double volts, double amperes, double watts) = binding switch
        {
            Ina219 ina219 => (ina219.ReadBusVoltage().Volts, ina219.ReadCurrent().Amperes, (double)ina219.ReadPower().Watts),
            Ina236 ina236 => (ina236.ReadBusVoltage().Volts, ina236.ReadCurrent().Amperes, (double)ina236.ReadPower().Watts),
            _ => throw new InvalidOperationException($"unexpected binding {binding.GetType().Name}"),
        };
        snapshot.AddPowerRail(Chip.Name,
            PlausibleRange.Check(Reading<double>.Ok(volts), $"{Chip.Name} bus voltage", 0, 36, "V"),
            PlausibleRange.Check(Reading<double>.Ok(amperes), $"{Chip.Name} current", -Chip.MaxCurrentAmperes!.Value * 2, Chip.MaxCurrentAmperes!.Value * 2, "A"),
            PlausibleRange.Check(Reading<double>.Ok(watts), $"{Chip.Name} power", 0, 36 * Chip.MaxCurrentAmperes!.Value * 2, "W"));
    }
}
