using System.Text;
using EdgeRuntime.Devices;

namespace EdgeRuntime.Server.Governance;

/// <summary>Turns a device snapshot into the status fields: trustworthy figures by name, throttle flag names, the thermal state.</summary>
internal static class SensorReadout
{
    /// <summary>Readings that are Ok now, by name; unavailable and stale ones are left out rather than shown as numbers.</summary>
    public static Dictionary<string, double> Sensors(DeviceSnapshot snapshot)
    {
        var sensors = new Dictionary<string, double>(StringComparer.Ordinal);
        void Add(string name, Reading<double> reading)
        {
            if (reading.TryGetValue(out double value) && double.IsFinite(value))
            {
                sensors[name] = value;
            }
        }
        void AddFlag(string name, Reading<bool> reading)
        {
            if (reading.TryGetValue(out bool value))
            {
                sensors[name] = value ? 1 : 0;
            }
        }
        Add("thermal/hottest_c", snapshot.HottestCelsius);
        foreach (var zone in snapshot.ThermalZones)
        {
            string type = Key(zone.Type);
            Add(sensors.ContainsKey($"thermal/{type}_c") ? $"thermal/{Key(zone.Zone)}_c" : $"thermal/{type}_c", zone.Celsius);
        }
        Add("cpu/freq_mhz", snapshot.CpuMhz);
        foreach (var policy in snapshot.CpuPolicies)
        {
            Add($"cpu/{Key(policy.Policy)}_max_freq_mhz", policy.MaxMhz);
        }
        if (snapshot.Throttle.TryGetValue(out var flags))
        {
            sensors["throttle/flags"] = (int)flags;
        }
        if (snapshot.Battery is { } battery)
        {
            Add("battery/percent", battery.CapacityPercent);
            Add("battery/watts", battery.Watts);
            if (battery.Status.TryGetValue(out string? status))
            {
                sensors["battery/charging"] = status == "Charging" ? 1 : 0;
            }
        }
        AddFlag("power/external", snapshot.ExternalPower);
        foreach (var rail in snapshot.PowerRails)
        {
            Add($"power/{Key(rail.Rail)}_w", rail.Watts);
        }
        foreach (var sensor in snapshot.Sensors)
        {
            Add($"sensor/{Key(sensor.Sensor)}_{Key(sensor.Quantity)}", sensor.Value);
        }
        Add("cpu/load_1m", snapshot.LoadAverage1Min);
        Add("memory/available_bytes", snapshot.MemoryAvailableBytes);
        return sensors;
    }

    /// <summary>Flags set now and since boot, by name.</summary>
    public static string[] Throttle(DeviceSnapshot snapshot) => snapshot.Throttle.TryGetValue(out var flags)
        ? [.. Enum.GetValues<ThrottleFlags>().Where(f => f != ThrottleFlags.None && flags.HasFlag(f)).Select(f => f.ToString())]
        : [];

    /// <summary>The thermal state, or null when no temperature could be read (then the state says nothing).</summary>
    public static string? ThermalState(DeviceSnapshot snapshot) =>
        snapshot.HottestCelsius.IsOk ? snapshot.ThermalState.ToString().ToLowerInvariant() : null;

    public static string? PowerMode(DeviceSnapshot snapshot) => snapshot.PowerMode.TryGetValue(out string? mode) ? mode : null;

    /// <summary>A sensor name made safe for a key: lower case letters, digits, '-' and '_'.</summary>
    private static string Key(string name)
    {
        var key = new StringBuilder(name.Length);
        foreach (char c in name.ToLowerInvariant())
        {
            key.Append(char.IsAsciiLetterOrDigit(c) || c == '-' ? c : '_');
        }
        return key.Length == 0 ? "unnamed" : key.ToString();
    }
}
