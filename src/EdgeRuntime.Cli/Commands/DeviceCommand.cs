using System.CommandLine;
using System.Globalization;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Gpio;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Devices.Sysfs;
using EdgeRuntime.Evaluation.Reporting;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Cli.Commands;

/// <summary>
/// `edgert device`: the detected board and its live readings (thermal zones, cpufreq, throttle flags, power
/// supplies and rails, power mode, load, memory, I2C chips), once or refreshed with --watch; `device boards`
/// lists the descriptors; `device simulate` runs the simulated board and writes its sysfs tree and a trace.
/// </summary>
internal static class DeviceCommand
{
    public sealed record DeviceReport(string Board, string BoardName, string Detection, string Root, DeviceSnapshot Readings,
        IReadOnlyList<SourceHealth> Health, GpioSupport Gpio);

    public sealed record BoardEntry(string Id, string Name, string Platform, IReadOnlyList<string> ModelContains, bool Simulated);

    public sealed record DeviceSimulationReport(string Board, string Root, double Seconds, double LoadSeconds, double Utilisation, double AmbientCelsius,
        double PeakCelsius, double FinalCelsius, double FinalMhz, string FinalThrottle, double? FinalBatteryPercent,
        IReadOnlyList<FrequencyChange> FrequencyChanges, string? Trace);

    public static Command Create(CliContext context)
    {
        var root = new Option<string?>("--sysfs-root") { Description = "Directory standing for '/' (a simulated or copied tree); default: this machine's /" };
        var board = new Option<string?>("--board") { Description = "Board id or board.json path instead of auto-detection" };
        var devices = new Option<string?>("--devices") { Description = "A devices/ folder whose board.json files override the built-in descriptors" };
        var watch = new Option<bool>("--watch") { Description = "Refresh the readings until interrupted" };
        var interval = new Option<double>("--interval") { Description = "Seconds between refreshes with --watch", DefaultValueFactory = _ => 2 };
        var count = new Option<int?>("--count") { Description = "Stop --watch after this many refreshes" };
        var json = CliOutput.Json();

        var command = new Command("device", "Show the detected board and its live sensor readings");
        foreach (var option in new Option[] { root, board, devices, watch, interval, count, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            double seconds = result.GetValue(interval);
            int? limit = result.GetValue(count);
            if (!(seconds > 0) || seconds > 3600)
            {
                throw new CliError($"--interval must be within (0, 3600] seconds, not {seconds}");
            }
            if (limit is < 1)
            {
                throw new CliError($"--count must be at least 1, not {limit}");
            }
            var sysfs = OpenRoot(result.GetValue(root));
            var catalog = OpenCatalog(result.GetValue(devices));
            var (descriptor, reason) = ChooseBoard(result.GetValue(board), sysfs, catalog);
            var options = new DeviceMonitorOptions { ReadI2c = sysfs.IsHost, RunBoardTools = sysfs.IsHost };
            using var monitor = DeviceMonitor.ForBoard(descriptor, sysfs, options, TimeProvider.System);
            var gpio = GpioSupport.Detect(sysfs);
            bool watching = result.GetValue(watch) || limit is not null;
            for (int shown = 0; ; shown++)
            {
                var report = new DeviceReport(descriptor.Id, descriptor.Name, reason, sysfs.RootDirectory, monitor.Read(), monitor.GetHealth(), gpio);
                if (result.GetValue(json))
                {
                    context.Out.WriteLine(ReportJson.Serialize(report));
                }
                else
                {
                    Print(report, context.Out, watching ? shown + 1 : null);
                }
                if (!watching || shown + 1 >= (limit ?? int.MaxValue))
                {
                    return 0;
                }
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(seconds), cancellation);
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
            }
        });
        command.Subcommands.Add(CreateBoards(context, devices, json));
        command.Subcommands.Add(CreateSimulate(context, devices, json));
        return command;
    }

    private static Command CreateBoards(CliContext context, Option<string?> devices, Option<bool> json)
    {
        var command = new Command("boards", "List the board descriptors (built in, and from --devices)");
        command.SetAction(result =>
        {
            var catalog = OpenCatalog(result.GetValue(devices));
            var entries = catalog.Boards.OrderBy(b => b.Id, StringComparer.Ordinal)
                .Select(b => new BoardEntry(b.Id, b.Name, b.Platform, b.Detect.ModelContains, b.Simulation is not null)).ToList();
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(entries));
                return 0;
            }
            var table = new TextTable("id", "name", "platform", "detected by model", "simulated");
            foreach (var entry in entries)
            {
                table.Add(entry.Id, entry.Name, entry.Platform, entry.ModelContains.Count == 0 ? "-" : string.Join(" | ", entry.ModelContains), entry.Simulated ? "yes" : "no");
            }
            table.WriteTo(context.Out);
            return 0;
        });
        // Recursive options of the parent are not inherited; re-add the ones this subcommand reads.
        command.Options.Add(devices);
        command.Options.Add(json);
        return command;
    }

    private static Command CreateSimulate(CliContext context, Option<string?> devices, Option<bool> json)
    {
        var output = new Option<string>("--out") { Description = "Directory for the simulated sysfs tree (read it with `edgert device --sysfs-root`)", Required = true };
        var board = new Option<string>("--board") { Description = "Board id or board.json path", DefaultValueFactory = _ => "raspberry-pi-4" };
        var seconds = new Option<double>("--seconds") { Description = "Simulated seconds of full load", DefaultValueFactory = _ => 600 };
        var idle = new Option<double>("--idle-seconds") { Description = "Simulated seconds of idle after the load", DefaultValueFactory = _ => 300 };
        var load = new Option<double>("--load") { Description = "CPU utilisation during the load phase (0..1)", DefaultValueFactory = _ => 1 };
        var ambient = new Option<double?>("--ambient") { Description = "Ambient temperature in °C (default: the descriptor's)" };
        var step = new Option<double>("--step") { Description = "Simulated seconds per step (each step rewrites the tree)", DefaultValueFactory = _ => 1 };
        var trace = new Option<string?>("--trace") { Description = "Record the readings of every step to this file (JSON lines)" };
        var realtime = new Option<bool>("--realtime") { Description = "Step in real time, so `edgert device --watch` can follow the tree" };
        var command = new Command("simulate", "Run the simulated board (thermal model, DVFS throttling, battery) and write its sysfs tree");
        foreach (var option in new Option[] { output, board, seconds, idle, load, ambient, step, trace, realtime, devices, json })
        {
            command.Options.Add(option);
        }
        command.SetAction(async (result, cancellation) =>
        {
            var plan = new SysfsBoardRun.Plan(result.GetValue(seconds), result.GetValue(idle), result.GetValue(load), result.GetValue(step),
                result.GetValue(ambient), result.GetValue(trace), result.GetValue(realtime));
            if (!(plan.LoadSeconds >= 0) || !(plan.IdleSeconds >= 0) || plan.LoadSeconds + plan.IdleSeconds > 7 * 24 * 3600)
            {
                throw new CliError("--seconds and --idle-seconds must be zero or more and together at most a week");
            }
            if (!(plan.Utilisation is >= 0 and <= 1))
            {
                throw new CliError($"--load must be within 0..1, not {plan.Utilisation}");
            }
            if (!(plan.StepSeconds > 0) || plan.StepSeconds > 60)
            {
                throw new CliError($"--step must be within (0, 60] seconds, not {plan.StepSeconds}");
            }
            string outDirectory = result.GetValue(output)!;
            if (Path.GetFullPath(outDirectory) == "/")
            {
                throw new CliError("--out must not be '/': the simulation writes a fake sysfs tree there");
            }
            var descriptor = ResolveBoard(result.GetValue(board)!, OpenCatalog(result.GetValue(devices)));
            var run = await SysfsBoardRun.RunAsync(descriptor, outDirectory, plan, cancellation);
            var report = new DeviceSimulationReport(run.Board, run.Root, run.Seconds, run.LoadSeconds, run.Utilisation, run.AmbientCelsius,
                run.PeakCelsius, run.FinalCelsius, run.FinalMhz, FormatFlags(run.FinalThrottle), run.FinalBatteryPercent, run.FrequencyChanges, run.Trace);
            if (result.GetValue(json))
            {
                context.Out.WriteLine(ReportJson.Serialize(report));
                return 0;
            }
            context.Out.WriteLine($"simulated {run.Board}: {run.LoadSeconds:0} s at {run.Utilisation:P0} load then {run.Seconds - run.LoadSeconds:0} s idle, ambient {run.AmbientCelsius} °C");
            var table = new TextTable("t (s)", "from MHz", "to MHz", "°C", "why");
            foreach (var change in run.FrequencyChanges)
            {
                table.Add(change.At.TotalSeconds, change.FromMhz, change.ToMhz, Math.Round(change.Celsius, 1), change.Reason);
            }
            table.WriteTo(context.Out);
            context.Out.WriteLine($"peak {run.PeakCelsius:0.0} °C; end: {run.FinalCelsius:0.0} °C at {run.FinalMhz} MHz, throttle {report.FinalThrottle}"
                + (run.FinalBatteryPercent is { } percent ? $", battery {percent:0.0} %" : ""));
            context.Out.WriteLine($"tree written to {run.Root}; read it with: edgert device --sysfs-root {run.Root}");
            if (run.Trace is not null)
            {
                context.Out.WriteLine($"trace of {run.FrequencyChanges.Count} frequency changes and every reading written to {run.Trace}");
            }
            return 0;
        });
        return command;
    }

    private static SysfsRoot OpenRoot(string? path)
    {
        if (path is null)
        {
            return SysfsRoot.Host;
        }
        if (!Directory.Exists(path))
        {
            throw new CliError($"--sysfs-root {path} is not a directory");
        }
        return new SysfsRoot(path);
    }

    private static BoardCatalog OpenCatalog(string? devicesDirectory)
    {
        try
        {
            return devicesDirectory is null ? BoardCatalog.BuiltIn() : BoardCatalog.WithDirectory(devicesDirectory);
        }
        catch (BoardDescriptorException e)
        {
            throw new CliError(e.Message);
        }
    }

    private static (BoardDescriptor Board, string Reason) ChooseBoard(string? requested, SysfsRoot root, BoardCatalog catalog)
    {
        if (requested is not null)
        {
            return (ResolveBoard(requested, catalog), "chosen with --board");
        }
        var detected = BoardDetector.Detect(root, catalog);
        return (detected.Board, detected.Reason);
    }

    private static BoardDescriptor ResolveBoard(string requested, BoardCatalog catalog)
    {
        try
        {
            return requested.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(requested)
                ? BoardCatalog.LoadFile(requested)
                : catalog.Get(requested);
        }
        catch (BoardDescriptorException e)
        {
            throw new CliError(e.Message);
        }
    }

    private static void Print(DeviceReport report, TextWriter output, int? refresh)
    {
        var s = report.Readings;
        if (refresh is not null)
        {
            output.WriteLine($"--- {s.Timestamp:yyyy-MM-dd HH:mm:ss}Z (refresh {refresh})");
        }
        output.WriteLine($"board: {report.Board} ({report.BoardName})");
        output.WriteLine($"  {report.Detection}");
        if (report.Root != "/")
        {
            output.WriteLine($"  reading the tree under {report.Root}");
        }
        output.WriteLine($"thermal state: {s.ThermalState.ToString().ToLowerInvariant()}, hottest {Show(s.HottestCelsius, "0.0", " °C")}");
        if (s.ThermalZones.Count > 0)
        {
            var zones = new TextTable("zone", "type", "°C");
            foreach (var zone in s.ThermalZones)
            {
                zones.Add(zone.Zone, zone.Type, Show(zone.Celsius, "0.0"));
            }
            zones.WriteTo(output);
        }
        if (s.CpuPolicies.Count > 0)
        {
            var cpus = new TextTable("cpufreq", "current MHz", "max MHz", "hardware max MHz", "governor");
            foreach (var policy in s.CpuPolicies)
            {
                cpus.Add(policy.Policy, Show(policy.CurrentMhz, "0"), Show(policy.MaxMhz, "0"), Show(policy.HardwareMaxMhz, "0"), policy.Governor.IsOk ? policy.Governor.Value : Show(policy.Governor));
            }
            cpus.WriteTo(output);
        }
        output.WriteLine($"throttle: {(s.Throttle.IsOk ? FormatFlags(s.Throttle.Value) + $" (0x{(int)s.Throttle.Value:x})" : Show(s.Throttle))}");
        foreach (var supply in s.PowerSupplies)
        {
            output.WriteLine(supply.IsBattery
                ? $"battery {supply.Name}: {Show(supply.CapacityPercent, "0", " %")}, {(supply.Status.IsOk ? supply.Status.Value : Show(supply.Status))}, {Show(supply.Volts, "0.00", " V")}, {Show(supply.Amperes, "0.000", " A")}, {Show(supply.Watts, "0.00", " W")}"
                : $"supply {supply.Name} ({supply.Type}): {(supply.Online.IsOk ? supply.Online.Value ? "online" : "offline" : Show(supply.Online))}");
        }
        if (s.PowerRails.Count > 0)
        {
            var rails = new TextTable("rail", "V", "A", "W");
            foreach (var rail in s.PowerRails)
            {
                rails.Add(rail.Rail, Show(rail.Volts, "0.000"), Show(rail.Amperes, "0.000"), Show(rail.Watts, "0.000"));
            }
            rails.WriteTo(output);
        }
        if (s.PowerMode.Status != ReadingStatus.Unavailable || s.PowerMode.Reason != "no power mode source on this board")
        {
            output.WriteLine($"power mode: {(s.PowerMode.IsOk ? s.PowerMode.Value : Show(s.PowerMode))}");
        }
        output.WriteLine($"load (1 min): {Show(s.LoadAverage1Min, "0.00")}; memory available: {(s.MemoryAvailableBytes.IsOk ? Formatting.Bytes((long)s.MemoryAvailableBytes.Value) : Show(s.MemoryAvailableBytes))} of {(s.MemoryTotalBytes.IsOk ? Formatting.Bytes((long)s.MemoryTotalBytes.Value) : "?")}");
        foreach (var sensor in s.Sensors)
        {
            output.WriteLine($"sensor {sensor.Sensor} {sensor.Quantity}: {Show(sensor.Value, "0.00", " " + sensor.Unit)}");
        }
        output.WriteLine($"gpio: {(report.Gpio.Available ? "available" : "unavailable")}: {report.Gpio.Reason}");
        var problems = report.Health.Where(h => h.Unavailable + h.Stale + h.Faults > 0).ToList();
        if (problems.Count > 0)
        {
            output.WriteLine("sources with problems:");
            foreach (var h in problems)
            {
                output.WriteLine($"  {h.Source}: {h.Unavailable} unavailable, {h.Stale} stale, {h.Faults} faults; last: {h.LastProblem}");
            }
        }
    }

    private static string Show<T>(Reading<T> reading, string format = "", string unit = "") => reading.Status switch
    {
        ReadingStatus.Ok => Format(reading.Value, format) + unit,
        ReadingStatus.Stale => $"{Format(reading.Value, format)}{unit} (stale: {reading.Reason})",
        _ => $"unavailable ({reading.Reason})",
    };

    private static string Format<T>(T? value, string format) =>
        value is IFormattable f && format.Length > 0 ? f.ToString(format, CultureInfo.InvariantCulture) : value?.ToString() ?? "";

    private static string FormatFlags(ThrottleFlags flags) =>
        flags == ThrottleFlags.None ? "none" : string.Join(", ", Enum.GetValues<ThrottleFlags>().Where(f => f != ThrottleFlags.None && flags.HasFlag(f))
            .Select(f => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(f.ToString())));
}
