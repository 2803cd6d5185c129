using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Simulation;

/// <summary>
/// Readings over time, one snapshot per line of JSON: recorded from any monitor (a real board or the
/// simulation) and replayed by writing each snapshot back as a sysfs tree, so the same readers read it again.
/// </summary>
public static class DeviceTrace
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Appends one snapshot as a line.</summary>
    public static void Append(TextWriter writer, DeviceSnapshot snapshot)
    {
        writer.WriteLine(JsonSerializer.Serialize(snapshot, JsonOptions));
        writer.Flush();
    }

    /// <summary>Reads a trace; a torn last line (a recorder stopped mid-write) is dropped, any other bad line is an error naming it.</summary>
    public static IReadOnlyList<DeviceSnapshot> Load(string path)
    {
        var lines = File.ReadAllLines(path);
        var snapshots = new List<DeviceSnapshot>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0)
            {
                continue;
            }
            try
            {
                snapshots.Add(JsonSerializer.Deserialize<DeviceSnapshot>(lines[i], JsonOptions)
                    ?? throw new JsonException("null snapshot"));
            }
            catch (JsonException) when (i == lines.Length - 1 && snapshots.Count > 0)
            {
                // A torn last line: the recorder stopped mid-write; the lines before it stand.
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path} line {i + 1}: not a device snapshot: {e.Message}", e);
            }
        }
        return snapshots;
    }

    /// <summary>Writes the files a board would show for <paramref name="snapshot"/> (readings that were unavailable are left out).</summary>
    public static void WriteTree(DeviceSnapshot snapshot, SysfsTreeWriter writer)
    {
        foreach (var zone in snapshot.ThermalZones)
        {
            if (zone.Celsius.Status != ReadingStatus.Unavailable && TryIndex(zone.Zone, "thermal_zone", out int index))
            {
                writer.WriteThermalZone(index, zone.Type, zone.Celsius.Value);
            }
        }
        foreach (var policy in snapshot.CpuPolicies)
        {
            if (policy.CurrentMhz.IsOk && TryIndex(policy.Policy, "policy", out int index))
            {
                double max = policy.MaxMhz.IsOk ? policy.MaxMhz.Value : policy.CurrentMhz.Value;
                writer.WriteCpuPolicy(index, policy.CurrentMhz.Value, max, policy.HardwareMaxMhz.IsOk ? policy.HardwareMaxMhz.Value : max,
                    policy.CurrentMhz.Value, policy.Governor.IsOk ? policy.Governor.Value! : "unknown");
            }
        }
        if (snapshot.Throttle.IsOk)
        {
            writer.WriteThrottle(snapshot.Throttle.Value);
        }
        foreach (var supply in snapshot.PowerSupplies)
        {
            if (supply.IsBattery && supply.CapacityPercent.IsOk)
            {
                writer.WriteBattery(supply.Name, supply.CapacityPercent.Value, supply.Status.IsOk ? supply.Status.Value! : "Unknown",
                    supply.Volts.IsOk ? supply.Volts.Value : 0, supply.Amperes.IsOk ? supply.Amperes.Value : 0);
            }
            else if (!supply.IsBattery && supply.Online.IsOk)
            {
                writer.WriteMains(supply.Name, supply.Online.Value);
            }
        }
        if (snapshot.LoadAverage1Min.IsOk)
        {
            writer.WriteLoad(snapshot.LoadAverage1Min.Value);
        }
        if (snapshot.MemoryTotalBytes.IsOk && snapshot.MemoryAvailableBytes.IsOk)
        {
            writer.WriteMemory((long)snapshot.MemoryTotalBytes.Value, (long)snapshot.MemoryAvailableBytes.Value);
        }
    }

    /// <summary>Writes, under <paramref name="root"/>, the snapshot in effect <paramref name="offset"/> after the trace's first one.</summary>
    public static DeviceSnapshot ReplayAt(IReadOnlyList<DeviceSnapshot> trace, TimeSpan offset, SysfsRoot root)
    {
        if (trace.Count == 0)
        {
            throw new InvalidDataException("the trace is empty");
        }
        var start = trace[0].Timestamp;
        var current = trace.LastOrDefault(s => s.Timestamp - start <= offset) ?? trace[0];
        WriteTree(current, new SysfsTreeWriter(root));
        return current;
    }

    private static bool TryIndex(string name, string prefix, out int index)
    {
        index = 0;
        return name.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(name[prefix.Length..], out index);
    }
}
