using System.Globalization;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Gpio;
using EdgeRuntime.Devices.Sysfs;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Devices;

/// <summary>The detected (or chosen) board and one snapshot of its readings, as `edgert device` shows it.</summary>
public sealed record DeviceReport(string Board, string BoardName, string Detection, string Root, DeviceSnapshot Readings,
    IReadOnlyList<SourceHealth> Health, GpioSupport Gpio)
{
    public void WriteText(TextWriter output, int? refresh)
    {
        var s = Readings;
        if (refresh is not null)
        {
            output.WriteLine($"--- {s.Timestamp:yyyy-MM-dd HH:mm:ss}Z (refresh {refresh})");
        }
        output.WriteLine($"board: {Board} ({BoardName})");
        output.WriteLine($"  {Detection}");
        if (Root != "/")
        {
            output.WriteLine($"  reading the tree under {Root}");
        }
        output.WriteLine($"thermal state: {s.ThermalState.ToString().ToLowerInvariant()}, hottest {DeviceInspection.Show(s.HottestCelsius, "0.0", " °C")}");
        if (s.ThermalZones.Count > 0)
        {
            var zones = new TextTable("zone", "type", "°C");
            foreach (var zone in s.ThermalZones)
            {
                zones.Add(zone.Zone, zone.Type, DeviceInspection.Show(zone.Celsius, "0.0"));
            }
            zones.WriteTo(output);
        }
        if (s.CpuPolicies.Count > 0)
        {
            var cpus = new TextTable("cpufreq", "current MHz", "max MHz", "hardware max MHz", "governor");
            foreach (var policy in s.CpuPolicies)
            {
                cpus.Add(policy.Policy, DeviceInspection.Show(policy.CurrentMhz, "0"), DeviceInspection.Show(policy.MaxMhz, "0"), DeviceInspection.Show(policy.HardwareMaxMhz, "0"), policy.Governor.IsOk ? policy.Governor.Value : DeviceInspection.Show(policy.Governor));
            }
            cpus.WriteTo(output);
        }
        output.WriteLine($"throttle: {(s.Throttle.IsOk ? DeviceInspection.FormatFlags(s.Throttle.Value) + $" (0x{(int)s.Throttle.Value:x})" : DeviceInspection.Show(s.Throttle))}");
        foreach (var supply in s.PowerSupplies)
        {
            output.WriteLine(supply.IsBattery
                ? $"battery {supply.Name}: {DeviceInspection.Show(supply.CapacityPercent, "0", " %")}, {(supply.Status.IsOk ? supply.Status.Value : DeviceInspection.Show(supply.Status))}, {DeviceInspection.Show(supply.Volts, "0.00", " V")}, {DeviceInspection.Show(supply.Amperes, "0.000", " A")}, {DeviceInspection.Show(supply.Watts, "0.00", " W")}"
                : $"supply {supply.Name} ({supply.Type}): {(supply.Online.IsOk ? supply.Online.Value ? "online" : "offline" : DeviceInspection.Show(supply.Online))}");
        }
        if (s.PowerRails.Count > 0)
        {
            var rails = new TextTable("rail", "V", "A", "W");
            foreach (var rail in s.PowerRails)
            {
                rails.Add(rail.Rail, DeviceInspection.Show(rail.Volts, "0.000"), DeviceInspection.Show(rail.Amperes, "0.000"), DeviceInspection.Show(rail.Watts, "0.000"));
            }
            rails.WriteTo(output);
        }
        if (s.PowerMode.Status != ReadingStatus.Unavailable || s.PowerMode.Reason != "no power mode source on this board")
        {
            output.WriteLine($"power mode: {(s.PowerMode.IsOk ? s.PowerMode.Value : DeviceInspection.Show(s.PowerMode))}");
        }
        output.WriteLine($"load (1 min): {DeviceInspection.Show(s.LoadAverage1Min, "0.00")}; memory available: {(s.MemoryAvailableBytes.IsOk ? Formatting.Bytes((long)s.MemoryAvailableBytes.Value) : DeviceInspection.Show(s.MemoryAvailableBytes))} of {(s.MemoryTotalBytes.IsOk ? Formatting.Bytes((long)s.MemoryTotalBytes.Value) : "?")}");
        foreach (var sensor in s.Sensors)
        {
            output.WriteLine($"sensor {sensor.Sensor} {sensor.Quantity}: {DeviceInspection.Show(sensor.Value, "0.00", " " + sensor.Unit)}");
        }
        output.WriteLine($"gpio: {(Gpio.Available ? "available" : "unavailable")}: {Gpio.Reason}");
        var problems = Health.Where(h => h.Unavailable + h.Stale + h.Faults > 0).ToList();
        if (problems.Count > 0)
        {
            output.WriteLine("sources with problems:");
            foreach (var h in problems)
            {
                output.WriteLine($"  {h.Source}: {h.Unavailable} unavailable, {h.Stale} stale, {h.Faults} faults; last: {h.LastProblem}");
            }
        }
    }
}

/// <summary>One board descriptor, as `edgert device boards` lists it.</summary>
public sealed record BoardEntry(string Id, string Name, string Platform, IReadOnlyList<string> ModelContains, bool Simulated);

/// <summary>Choosing the board and its sysfs tree, reading it once or repeatedly, and the text of readings.</summary>
public static class DeviceInspection
{
    /// <summary>Reads the board (detected, or <paramref name="board"/>) once, or every <paramref name="interval"/> seconds while watching.</summary>
    /// <param name="show">Given each report, and its refresh number while watching.</param>
    public static async Task WatchAsync(string? root, string? board, string? devices, bool watch, double interval, int? count,
        Action<DeviceReport, int?> show, CancellationToken cancellation)
    {
        if (!(interval > 0) || interval > 3600)
        {
            throw new ArgumentException($"--interval must be within (0, 3600] seconds, not {interval}");
        }
        if (count is < 1)
        {
            throw new ArgumentException($"--count must be at least 1, not {count}");
        }
        var sysfs = OpenRoot(root);
        var catalog = OpenCatalog(devices);
        var (descriptor, reason) = ChooseBoard(board, sysfs, catalog);
        var options = new DeviceMonitorOptions { ReadI2c = sysfs.IsHost, RunBoardTools = sysfs.IsHost };
        using var monitor = DeviceMonitor.ForBoard(descriptor, sysfs, options, TimeProvider.System);
        var gpio = GpioSupport.Detect(sysfs);
        bool watching = watch || count is not null;
        for (int shown = 0; ; shown++)
        {
            show(new DeviceReport(descriptor.Id, descriptor.Name, reason, sysfs.RootDirectory, monitor.Read(), monitor.GetHealth(), gpio), watching ? shown + 1 : null);
            if (!watching || shown + 1 >= (count ?? int.MaxValue))
            {
                return;
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(interval), cancellation);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public static IReadOnlyList<BoardEntry> Boards(string? devices) => [.. OpenCatalog(devices).Boards.OrderBy(b => b.Id, StringComparer.Ordinal)
        .Select(b => new BoardEntry(b.Id, b.Name, b.Platform, b.Detect.ModelContains, b.Simulation is not null))];

    public static void WriteBoards(TextWriter output, IReadOnlyList<BoardEntry> entries)
    {
        var table = new TextTable("id", "name", "platform", "detected by model", "simulated");
        foreach (var entry in entries)
        {
            table.Add(entry.Id, entry.Name, entry.Platform, entry.ModelContains.Count == 0 ? "-" : string.Join(" | ", entry.ModelContains), entry.Simulated ? "yes" : "no");
        }
        table.WriteTo(output);
    }

    public static SysfsRoot OpenRoot(string? path)
    {
        if (path is null)
        {
            return SysfsRoot.Host;
        }
        if (!Directory.Exists(path))
        {
            throw new ArgumentException($"--sysfs-root {path} is not a directory");
        }
        return new SysfsRoot(path);
    }

    public static BoardCatalog OpenCatalog(string? devicesDirectory)
    {
        try
        {
            return devicesDirectory is null ? BoardCatalog.BuiltIn() : BoardCatalog.WithDirectory(devicesDirectory);
        }
        catch (BoardDescriptorException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    public static (BoardDescriptor Board, string Reason) ChooseBoard(string? requested, SysfsRoot root, BoardCatalog catalog)
    {
        if (requested is not null)
        {
            return (ResolveBoard(requested, catalog), "chosen with --board");
        }
        var detected = BoardDetector.Detect(root, catalog);
        return (detected.Board, detected.Reason);
    }

    public static BoardDescriptor ResolveBoard(string requested, BoardCatalog catalog)
    {
        try
        {
            return requested.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(requested)
                ? BoardCatalog.LoadFile(requested)
                : catalog.Get(requested);
        }
        catch (BoardDescriptorException e)
        {
            throw new ArgumentException(e.Message, e);
        }
    }

    internal static string Show<T>(Reading<T> reading, string format = "", string unit = "") => reading.Status switch
    {
        ReadingStatus.Ok => Format(reading.Value, format) + unit,
        ReadingStatus.Stale => $"{Format(reading.Value, format)}{unit} (stale: {reading.Reason})",
        _ => $"unavailable ({reading.Reason})",
    };

    private static string Format<T>(T? value, string format) =>
        value is IFormattable f && format.Length > 0 ? f.ToString(format, CultureInfo.InvariantCulture) : value?.ToString() ?? "";

    public static string FormatFlags(ThrottleFlags flags) =>
        flags == ThrottleFlags.None ? "none" : string.Join(", ", Enum.GetValues<ThrottleFlags>().Where(f => f != ThrottleFlags.None && flags.HasFlag(f))
            .Select(f => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(f.ToString())));
}
