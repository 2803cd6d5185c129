using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>
/// Jetson INA3221 power rails. JetPack 5+ (hwmon): in{N}_label, in{N}_input (mV), curr{N}_input (mA).
/// JetPack 4 (iio, ina3221x): rail_name_{N}, in_voltage{N}_input (mV), in_current{N}_input (mA), in_power{N}_input (mW).
/// </summary>
public sealed class PowerRailSource(SysfsRoot root, string kind, IReadOnlyList<string> globs) : ISensorSource
{
    public string Name => "power_rails";

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        var devices = globs.SelectMany(root.Glob).Distinct().ToList();
        if (devices.Count == 0)
        {
            var missing = Reading<double>.Unavailable($"no power monitor matches {string.Join(", ", globs)}");
            snapshot.AddPowerRail("none", missing, missing, missing);
            return;
        }
        foreach (string device in devices)
        {
            if (kind == "iio-ina3221x")
            {
                ReadIio(device, snapshot);
            }
            else
            {
                ReadHwmon(device, snapshot);
            }
        }
    }

    private void ReadHwmon(string device, DeviceSnapshotBuilder snapshot)
    {
        for (int channel = 1; channel <= 4; channel++)
        {
            var label = root.ReadText($"{device}/in{channel}_label");
            if (!root.Exists($"{device}/in{channel}_input"))
            {
                continue;
            }
            string rail = label.IsOk ? label.Value! : $"channel{channel}";
            // The INA3221's fourth "channel" on Orin is a sum-of-shunts line with no current; keep what exists.
            var volts = Scaled($"{device}/in{channel}_input", 1e-3, 0, 60);
            var amperes = Scaled($"{device}/curr{channel}_input", 1e-3, -50, 50);
            snapshot.AddPowerRail(rail, volts, amperes, Product(volts, amperes));
        }
    }

    private void ReadIio(string device, DeviceSnapshotBuilder snapshot)
    {
        for (int channel = 0; channel < 3; channel++)
        {
            var label = root.ReadText($"{device}/rail_name_{channel}");
            if (!label.IsOk)
            {
                continue;
            }
            var volts = Scaled($"{device}/in_voltage{channel}_input", 1e-3, 0, 60);
            var amperes = Scaled($"{device}/in_current{channel}_input", 1e-3, -50, 50);
            var watts = Scaled($"{device}/in_power{channel}_input", 1e-3, -1000, 1000);
            snapshot.AddPowerRail(label.Value!, volts, amperes, watts.IsOk ? watts : Product(volts, amperes));
        }
    }

    private Reading<double> Scaled(string path, double scale, double min, double max) =>
        PlausibleRange.Check(root.ReadInteger(path).Select(v => v * scale), Path.GetFileName(path), min, max, "");

    private static Reading<double> Product(Reading<double> volts, Reading<double> amperes) =>
        volts.TryGetValue(out double v) && amperes.TryGetValue(out double a)
            ? Reading<double>.Ok(Math.Abs(v * a))
            : Reading<double>.Unavailable(volts.IsOk ? amperes.Reason! : volts.Reason!);
}
