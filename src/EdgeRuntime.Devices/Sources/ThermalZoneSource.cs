using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>Every thermal zone (/sys/class/thermal/thermal_zone*/temp in millidegrees, with its type).</summary>
public sealed class ThermalZoneSource(SysfsRoot root, IReadOnlyList<string> zoneGlobs) : ISensorSource
{
    public string Name => "thermal";

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        var zones = zoneGlobs.SelectMany(root.Glob).Distinct().ToList();
        if (zones.Count == 0)
        {
            snapshot.AddThermalZone("none", "none", Reading<double>.Unavailable($"no thermal zone matches {string.Join(", ", zoneGlobs)}"));
            return;
        }
        foreach (string zone in zones)
        {
            var type = root.ReadText(zone + "/type");
            var celsius = root.ReadInteger(zone + "/temp").Select(milli => milli / 1000.0);
            string name = Path.GetFileName(zone);
            snapshot.AddThermalZone(name, type.IsOk ? type.Value! : "unknown", PlausibleRange.Celsius(celsius, $"{name} ({(type.IsOk ? type.Value : "unknown type")})"));
        }
    }
}
