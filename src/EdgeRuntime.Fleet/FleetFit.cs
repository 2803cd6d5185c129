using EdgeRuntime.Reporting;
using EdgeRuntime.Governance;

namespace EdgeRuntime.Fleet;

/// <summary>One device class's fitted profile, as `edgert fleet fit` reports it.</summary>
public sealed record FitEntry(string DeviceClass, string File, int Devices, string? DataWindow, double? FitError, double? TimeConstantSeconds,
    IReadOnlyDictionary<string, VariantCost> Variants);

/// <summary>Governor profiles per device class from the fleet database, written as &lt;class&gt;.json.</summary>
public static class FleetFit
{
    public static IReadOnlyList<FitEntry> Run(string databasePath, string? deviceClass, string directory)
    {
        if (!File.Exists(databasePath))
        {
            throw new ArgumentException($"fleet database '{databasePath}' does not exist; run 'edgert fleet ingest' first");
        }
        using var store = FleetStore.Open(databasePath);
        var fitter = new ProfileFitter(store);
        var classes = deviceClass is string one ? [one] : fitter.DeviceClasses();
        if (classes.Count == 0)
        {
            throw new ArgumentException($"fleet database '{databasePath}' holds no telemetry");
        }
        Directory.CreateDirectory(directory);
        var entries = new List<FitEntry>();
        foreach (string name in classes)
        {
            var fitted = fitter.Fit(name);
            string file = Path.Combine(directory, name + ".json");
            string text = ProfileJson.Serialize(fitted.Profile);
            ProfileJson.Parse(text, file);
            File.WriteAllText(file, text);
            var p = fitted.Profile.Provenance;
            entries.Add(new FitEntry(name, file, p.Devices ?? 0, p.DataWindow, p.FitError, fitted.TimeConstantSeconds, fitted.Profile.Variants));
        }
        return entries;
    }

    public static void WriteText(TextWriter output, IReadOnlyList<FitEntry> entries)
    {
        foreach (var entry in entries)
        {
            output.WriteLine($"{entry.DeviceClass}: {entry.Devices} devices, fit error {entry.FitError:P1}, thermal time constant {(entry.TimeConstantSeconds is double t ? $"{t:F0} s" : "kept")} -> {entry.File}");
            var table = new TextTable("variant", "p50 ms", "p95 ms", "busy W", "mJ/inference");
            foreach (var (id, cost) in entry.Variants)
            {
                table.Add(id, Math.Round(cost.LatencyP50Ms, 4), Math.Round(cost.LatencyP95Ms, 4), cost.BusyPowerWatts is double w ? Math.Round(w, 3) : null,
                    cost.EnergyMillijoules is double e ? Math.Round(e, 4) : null);
            }
            table.WriteTo(output);
        }
    }
}
