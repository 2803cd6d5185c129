using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Simulation;

public sealed record DeviceSimulationReport(string Board, string Root, double Seconds, double LoadSeconds, double Utilisation, double AmbientCelsius,
    double PeakCelsius, double FinalCelsius, double FinalMhz, string FinalThrottle, double? FinalBatteryPercent,
    IReadOnlyList<FrequencyChange> FrequencyChanges, string? Trace)
{
    public void WriteText(TextWriter output)
    {
        output.WriteLine($"simulated {Board}: {LoadSeconds:0} s at {Utilisation:P0} load then {Seconds - LoadSeconds:0} s idle, ambient {AmbientCelsius} °C");
        var table = new TextTable("t (s)", "from MHz", "to MHz", "°C", "why");
        foreach (var change in FrequencyChanges)
        {
            table.Add(change.At.TotalSeconds, change.FromMhz, change.ToMhz, Math.Round(change.Celsius, 1), change.Reason);
        }
        table.WriteTo(output);
        output.WriteLine($"peak {PeakCelsius:0.0} °C; end: {FinalCelsius:0.0} °C at {FinalMhz} MHz, throttle {FinalThrottle}"
            + (FinalBatteryPercent is { } percent ? $", battery {percent:0.0} %" : ""));
        output.WriteLine($"tree written to {Root}; read it with: edgert device --sysfs-root {Root}");
        if (Trace is not null)
        {
            output.WriteLine($"trace of {FrequencyChanges.Count} frequency changes and every reading written to {Trace}");
        }
    }
}

/// <summary>`edgert device simulate`: the plan checked as the command's options, the board resolved, the run, its report.</summary>
public static class DeviceSimulation
{
    public static async Task<DeviceSimulationReport> RunAsync(string board, string? devices, string outDirectory, SysfsBoardRun.Plan plan, CancellationToken cancellation)
    {
        if (!(plan.LoadSeconds >= 0) || !(plan.IdleSeconds >= 0) || plan.LoadSeconds + plan.IdleSeconds > 7 * 24 * 3600)
        {
            throw new ArgumentException("--seconds and --idle-seconds must be zero or more and together at most a week");
        }
        if (!(plan.Utilisation is >= 0 and <= 1))
        {
            throw new ArgumentException($"--load must be within 0..1, not {plan.Utilisation}");
        }
        if (!(plan.StepSeconds > 0) || plan.StepSeconds > 60)
        {
            throw new ArgumentException($"--step must be within (0, 60] seconds, not {plan.StepSeconds}");
        }
        if (Path.GetFullPath(outDirectory) == "/")
        {
            throw new ArgumentException("--out must not be '/': the simulation writes a fake sysfs tree there");
        }
        var descriptor = DeviceInspection.ResolveBoard(board, DeviceInspection.OpenCatalog(devices));
        var run = await SysfsBoardRun.RunAsync(descriptor, outDirectory, plan, cancellation);
        return new DeviceSimulationReport(run.Board, run.Root, run.Seconds, run.LoadSeconds, run.Utilisation, run.AmbientCelsius,
            run.PeakCelsius, run.FinalCelsius, run.FinalMhz, DeviceInspection.FormatFlags(run.FinalThrottle), run.FinalBatteryPercent, run.FrequencyChanges, run.Trace);
    }
}
