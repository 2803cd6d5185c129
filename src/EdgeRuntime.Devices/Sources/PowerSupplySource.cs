using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>
/// power_supply class nodes: type, capacity (%), status, voltage_now (µV), current_now (µA), power_now (µW), online.
/// Power is computed from voltage and current when the driver has no power_now.
/// </summary>
public sealed class PowerSupplySource(SysfsRoot root, IReadOnlyList<string> globs) : ISensorSource
{
    public string Name => "power_supply";

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        foreach (string supply in globs.SelectMany(root.Glob).Distinct())
        {
            string name = Path.GetFileName(supply);
            var type = root.ReadText(supply + "/type");
            bool isBattery = type.IsOk && type.Value == "Battery";
            var volts = Micro(supply + "/voltage_now", name, 0, 100);
            var amperes = Micro(supply + "/current_now", name, -100, 100);
            var watts = Micro(supply + "/power_now", name, -1000, 1000);
            if (!watts.IsOk && volts.TryGetValue(out double v) && amperes.TryGetValue(out double a))
            {
                watts = Reading<double>.Ok(Math.Abs(v * a));
            }
            snapshot.AddPowerSupply(new PowerSupplyReading(
                name,
                type.IsOk ? type.Value! : "Unknown",
                isBattery ? PlausibleRange.Check(root.ReadInteger(supply + "/capacity").Select(c => (double)c), $"{name} capacity", 0, 100, "%")
                          : Reading<double>.Unavailable("not a battery"),
                isBattery ? root.ReadText(supply + "/status") : Reading<string>.Unavailable("not a battery"),
                volts,
                amperes,
                watts,
                isBattery ? Reading<bool>.Unavailable("a battery has no online attribute") : Online(supply + "/online")));
        }
    }

    private Reading<double> Micro(string path, string supply, double min, double max) =>
        PlausibleRange.Check(root.ReadInteger(path).Select(micro => micro / 1e6), $"{supply} {Path.GetFileName(path)}", min, max, "");

    private Reading<bool> Online(string path)
    {
        var value = root.ReadInteger(path);
        return value.TryGetValue(out long online)
            ? online is 0 or 1 ? Reading<bool>.Ok(online == 1) : Reading<bool>.Unavailable($"{path} holds {online}, expected 0 or 1")
            : Reading<bool>.Unavailable(value.Reason!);
    }
}
