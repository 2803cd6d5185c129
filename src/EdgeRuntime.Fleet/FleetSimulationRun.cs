using EdgeRuntime.Bundles;
using EdgeRuntime.Reporting;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;

namespace EdgeRuntime.Fleet;

/// <summary>
/// `edgert fleet simulate`: the bundle's variants (or the embedded fixture's) measured here, simulated boards writing
/// telemetry, the fit, and held-out boards run with both profiles; the fitted profile is written under profiles/.
/// </summary>
public static class FleetSimulationRun
{
    /// <exception cref="ArgumentException">An option out of range, named.</exception>
    public static void Validate(FleetSimulationOptions options)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"fleet simulate: {e.Message}", e);
        }
    }

    /// <returns>The report and the file the fitted profile was written to.</returns>
    public static (FleetSimulationReport Report, string ProfileFile) Run(FleetSimulationOptions options, string? bundlePath, string directory, TextWriter? log)
    {
        string work = Path.Combine(Path.GetTempPath(), "edgeruntime-fleet-simulate", Guid.NewGuid().ToString("N"));
        FleetSimulationReport report;
        try
        {
            ModelBundle bundle = bundlePath is null
                ? ModelBundle.Open(FixtureBundle.Build(Path.Combine(work, "fixture"), log).Directory)
                : ModelBundle.OpenPath(bundlePath);
            log?.WriteLine($"measuring each variant of '{bundle.Name}' on this machine (batch 1, interleaved rounds) ...");
            var variants = SimulationRuns.MeasureInterleaved(bundle, log);
            log?.WriteLine($"{options.Devices} boards x {options.Duration.TotalMinutes:F0} min, shipped profile '{options.Board}':");
            try
            {
                report = FleetSimulation.Run(variants, options, directory, log is null ? null : line => log.WriteLine(line));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"fleet simulate: {e.Message}", e);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        string profileFile = Path.Combine(directory, "profiles", report.Board + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(profileFile)!);
        File.WriteAllText(profileFile, ProfileJson.Serialize(report.FittedProfile));
        return (report, profileFile);
    }

    public static void WriteText(TextWriter output, FleetSimulationReport report, string profileFile)
    {
        int heldOut = report.Devices.Count(d => d.HeldOut);
        output.WriteLine();
        output.WriteLine($"{report.Board}: {report.Devices.Count} boards ({heldOut} held out), {report.DurationSeconds / 60:F0} min each, {report.RatePerSecond:F0} requests/s, SLO p95 {report.SloP95Ms:F3} ms");
        output.WriteLine($"telemetry: {report.RecordsWritten} records written, {report.Ingest.RecordsInserted} ingested from {report.IngestedVia} in {report.Ingest.Seconds:F1} s; profile fitted on {(report.FittedOnServiceTime ? "service time" : "response time")} -> {profileFile}");
        output.WriteLine($"fit error on held-out boards ({report.HeldOutWindows} windows): service time mean {report.HeldOutServiceMeanError:P1}, p95 {report.HeldOutServiceP95Error:P1}; {report.HeldOutWithin10Percent:P1} of windows within 10% (a fit of response p95, queue included, would be off by {report.HeldOutResponseP95Error:P0})");
        output.WriteLine($"thermal time constant: fitted {(report.FittedTimeConstantSeconds is double t ? $"{t:F0} s" : "none")}, shipped {report.DefaultTimeConstantSeconds:F0} s");
        var costs = new TextTable("variant", "assumed ms", "true ms", "fitted p50 ms", "fitted p95 ms");
        foreach (var (id, assumed) in report.AssumedFullClockServiceMs)
        {
            var fitted = report.FittedProfile.Variants.GetValueOrDefault(id);
            costs.Add(id, Math.Round(assumed, 3), Math.Round(report.TrueFullClockServiceMs[id], 3), fitted is null ? null : Math.Round(fitted.LatencyP50Ms, 3),
                fitted is null ? null : Math.Round(fitted.LatencyP95Ms, 3));
        }
        costs.WriteTo(output);
        output.WriteLine("held-out boards (means):");
        var table = new TextTable("profile", "SLO met", "mean quality", "throttled s", "max °C", "switches");
        foreach (var outcome in new[] { report.Default, report.Fitted })
        {
            table.Add(outcome.Profile == "default" ? "default (shipped)" : "fitted", Formatting.Percent(outcome.SloAttainment), Formatting.Percent(outcome.MeanQuality),
                Math.Round(outcome.SecondsThrottled, 1), Math.Round(outcome.MaxCelsius, 1), Math.Round(outcome.Switches, 1));
        }
        table.WriteTo(output);
    }
}
