using System.Globalization;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>The one-minute load average (/proc/loadavg) and memory (/proc/meminfo: MemTotal, MemAvailable).</summary>
public sealed class LoadMemorySource(SysfsRoot root) : ISensorSource
{
    public string Name => "load_memory";

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        var load = root.ReadText("/proc/loadavg");
        snapshot.SetLoad(load.TryGetValue(out string? text)
            ? double.TryParse(text.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double one) && one >= 0
                ? Reading<double>.Ok(one)
                : Reading<double>.Unavailable($"/proc/loadavg holds '{SysfsRoot.Shorten(text)}', expected three load averages")
            : Reading<double>.Unavailable(load.Reason!));

        var meminfo = root.ReadText("/proc/meminfo");
        if (!meminfo.TryGetValue(out string? info))
        {
            snapshot.SetMemory(Reading<double>.Unavailable(meminfo.Reason!), Reading<double>.Unavailable(meminfo.Reason!));
            return;
        }
        snapshot.SetMemory(Field(info, "MemAvailable"), Field(info, "MemTotal"));
    }

    private static Reading<double> Field(string meminfo, string key)
    {
        foreach (string line in meminfo.Split('\n'))
        {
            if (!line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                continue;
            }
            string[] parts = line[(key.Length + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib)
                ? Reading<double>.Ok(kib * 1024.0)
                : Reading<double>.Unavailable($"/proc/meminfo {key} is '{SysfsRoot.Shorten(line)}', expected a size in kB");
        }
        return Reading<double>.Unavailable($"/proc/meminfo has no {key} line");
    }
}
