using EdgeRuntime.Simulation;
using ScottPlot;

namespace EdgeRuntime.Cli.Commands;

/// <summary>PNG plots of a simulation: temperature, clock and the variant served, adaptive against fp32.</summary>
internal static class SimulationPlots
{
    private static readonly string[] FontFiles =
    [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    ];

    /// <summary>Writes the plots and returns their paths; without a font file the text is left out, the lines are not.</summary>
    public static IReadOnlyList<string> Write(SimulationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        string? font = FontFiles.FirstOrDefault(File.Exists);
        if (font is not null)
        {
            Fonts.AddFontFile("DejaVu Sans", font);
            Fonts.Default = "DejaVu Sans";
        }
        string reference = report.Variants[0].Id;
        string[] policies = [AdaptiveSimulation.AdaptivePolicy, reference];
        var variantRank = report.Variants.Select((v, i) => (v.Id, i)).ToDictionary(p => p.Id, p => (double)p.i);
        var written = new List<string>();
        written.Add(Line(report, policies, directory, "temperature", "°C", p => p.Celsius));
        written.Add(Line(report, policies, directory, "frequency", "MHz", p => p.FrequencyMhz));
        written.Add(Line(report, policies, directory, "variant", $"variant (0 = {reference} … {report.Variants.Count - 1} = {report.Variants[^1].Id})", p => variantRank[p.Variant]));
        return written;
    }

    private static string Line(SimulationReport report, string[] policies, string directory, string name, string unit, Func<TracePoint, double> value)
    {
        var plot = new Plot();
        foreach (string policy in policies.Where(report.Traces.ContainsKey))
        {
            var trace = report.Traces[policy];
            var scatter = plot.Add.Scatter(trace.Select(p => p.Seconds / 60).ToArray(), trace.Select(value).ToArray());
            scatter.LegendText = policy;
            scatter.MarkerSize = 0;
            scatter.LineWidth = 2;
        }
        plot.Title($"{report.Board}: {name} at {report.RatePerSecond:F0} requests/s");
        plot.XLabel("minutes");
        plot.YLabel(unit);
        plot.ShowLegend();
        string path = Path.Combine(directory, $"{name}.png");
        plot.SavePng(path, 1000, 360);
        return path;
    }
}
