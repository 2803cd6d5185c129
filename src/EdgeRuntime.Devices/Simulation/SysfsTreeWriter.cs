using System.Globalization;
using System.Text;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Simulation;

/// <summary>
/// Writes kernel-style files under a fake root, in the kernel's units (millidegrees, kHz, µV), each replaced
/// atomically so a reader in another process never sees a half-written value.
/// </summary>
public sealed class SysfsTreeWriter(SysfsRoot root)
{
    public const string ThrottleNodePath = "/sys/devices/platform/soc/soc:firmware/get_throttled";

    public SysfsRoot Root { get; } = root.IsHost
        ? throw new ArgumentException("refusing to write a simulated tree over the machine's real root '/'", nameof(root))
        : root;

    // What each file holds now: most values (model, limits, governor) never change, and a simulation
    // rewrites the tree every tick, so unchanged files are not written again.
    private readonly Dictionary<string, string> _written = new(StringComparer.Ordinal);

    public void WriteText(string boardPath, string text)
    {
        string path = Root.Resolve(boardPath);
        if (_written.TryGetValue(path, out var previous) && previous == text && File.Exists(path))
        {
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temporary = path + ".tmp";
        File.WriteAllText(temporary, text, Encoding.ASCII);
        File.Move(temporary, path, overwrite: true);
        _written[path] = text;
    }

    public void WriteInteger(string boardPath, long value) => WriteText(boardPath, value.ToString(CultureInfo.InvariantCulture) + "\n");

    public void WriteModel(string model) => WriteText("/proc/device-tree/model", model + "\0");

    public void WriteThermalZone(int index, string type, double celsius)
    {
        string zone = $"/sys/class/thermal/thermal_zone{index}";
        WriteText(zone + "/type", type + "\n");
        WriteInteger(zone + "/temp", (long)Math.Round(celsius * 1000));
    }

    public void WriteCpuPolicy(int index, double currentMhz, double maxMhz, double hardwareMaxMhz, double hardwareMinMhz, string governor)
    {
        string policy = $"/sys/devices/system/cpu/cpufreq/policy{index}";
        WriteInteger(policy + "/scaling_cur_freq", (long)Math.Round(currentMhz * 1000));
        WriteInteger(policy + "/scaling_max_freq", (long)Math.Round(maxMhz * 1000));
        WriteInteger(policy + "/cpuinfo_max_freq", (long)Math.Round(hardwareMaxMhz * 1000));
        WriteInteger(policy + "/cpuinfo_min_freq", (long)Math.Round(hardwareMinMhz * 1000));
        WriteText(policy + "/scaling_governor", governor + "\n");
    }

    /// <summary>The firmware node prints the bit field in hex without a prefix.</summary>
    public void WriteThrottle(ThrottleFlags flags, string path = ThrottleNodePath) =>
        WriteText(path, ((int)flags).ToString("x", CultureInfo.InvariantCulture) + "\n");

    public void WriteBattery(string name, double percent, string status, double volts, double amperes)
    {
        string supply = $"/sys/class/power_supply/{name}";
        WriteText(supply + "/type", "Battery\n");
        WriteInteger(supply + "/capacity", (long)Math.Round(percent));
        WriteText(supply + "/status", status + "\n");
        WriteInteger(supply + "/voltage_now", (long)Math.Round(volts * 1e6));
        WriteInteger(supply + "/current_now", (long)Math.Round(amperes * 1e6));
        WriteInteger(supply + "/power_now", (long)Math.Round(Math.Abs(volts * amperes) * 1e6));
    }

    public void WriteMains(string name, bool online)
    {
        string supply = $"/sys/class/power_supply/{name}";
        WriteText(supply + "/type", "Mains\n");
        WriteInteger(supply + "/online", online ? 1 : 0);
    }

    /// <summary>A JetPack 5+ INA3221 hwmon channel (1-based).</summary>
    public void WriteHwmonRail(string device, int channel, string label, double volts, double amperes)
    {
        WriteText($"{device}/in{channel}_label", label + "\n");
        WriteInteger($"{device}/in{channel}_input", (long)Math.Round(volts * 1000));
        WriteInteger($"{device}/curr{channel}_input", (long)Math.Round(amperes * 1000));
    }

    /// <summary>A JetPack 4 ina3221x IIO channel (0-based): millivolts, milliamperes, milliwatts.</summary>
    public void WriteIioRail(string device, int channel, string label, double volts, double amperes)
    {
        WriteText($"{device}/rail_name_{channel}", label + "\n");
        WriteInteger($"{device}/in_voltage{channel}_input", (long)Math.Round(volts * 1000));
        WriteInteger($"{device}/in_current{channel}_input", (long)Math.Round(amperes * 1000));
        WriteInteger($"{device}/in_power{channel}_input", (long)Math.Round(volts * amperes * 1000));
    }

    public void WriteLoad(double oneMinute) =>
        WriteText("/proc/loadavg", string.Create(CultureInfo.InvariantCulture, $"{oneMinute:0.00} {oneMinute:0.00} {oneMinute:0.00} 1/200 1000\n"));

    public void WriteMemory(long totalBytes, long availableBytes) =>
        WriteText("/proc/meminfo", string.Create(CultureInfo.InvariantCulture,
            $"MemTotal:       {totalBytes / 1024} kB\nMemFree:        {availableBytes / 2048} kB\nMemAvailable:   {availableBytes / 1024} kB\n"));
}
