using ScottPlot;

namespace EdgeRuntime.Simulation;

/// <summary>PNG plots of a simulation: temperature, clock and the variant served, adaptive against fp32.</summary>
public static class SimulationPlots
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
        var written = new List<string>();
        written.Add(Line(report, [AdaptiveSimulation.AdaptivePolicy], directory, "load", "requests/s (5-s mean)", p => p.RatePerSecond));
        written.Add(Line(report, policies, directory, "temperature", "°C", p => p.Celsius));
        written.Add(Line(report, policies, directory, "frequency", "MHz", p => p.FrequencyMhz));
        if (report.Traces.Values.SelectMany(t => t).Any(p => p.BatteryPercent is not null))
        {
            written.Add(Line(report, policies, directory, "battery", "charge %", p => p.BatteryPercent ?? double.NaN));
        }
        written.Add(Variants(report, directory));
        return written;
    }

    /// <summary>The variant adaptive served over time, as steps on a named axis (most accurate at the top).</summary>
    private static string Variants(SimulationReport report, string directory)
    {
        var names = report.Variants.Select(v => v.Id).Reverse().Prepend("off").ToList();
        var rank = names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => (double)p.i);
        var plot = new Plot();
        var trace = report.Traces[AdaptiveSimulation.AdaptivePolicy];
        var scatter = plot.Add.Scatter(trace.Select(p => p.Seconds / 60).ToArray(), trace.Select(p => rank.GetValueOrDefault(p.Variant)).ToArray());
        scatter.ConnectStyle = ConnectStyle.StepHorizontal;
        scatter.MarkerSize = 0;
        scatter.LineWidth = 2;
        scatter.LegendText = AdaptiveSimulation.AdaptivePolicy;
        plot.Axes.Left.SetTicks([.. names.Select((_, i) => (double)i)], [.. names]);
        plot.Axes.SetLimitsY(-0.5, names.Count - 0.5);
        plot.Title($"{report.Scenario ?? report.Board}: variant served");
        plot.XLabel("minutes");
        string path = Path.Combine(directory, "variant.png");
        plot.SavePng(path, 1000, 360);
        return path;
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
        plot.Title(report.Scenario is { } scenario ? $"{scenario} on {report.Board}: {name}" : $"{report.Board}: {name} at {report.RatePerSecond:F0} requests/s");
        plot.XLabel("minutes");
        plot.YLabel(unit);
        plot.ShowLegend();
        string path = Path.Combine(directory, $"{name}.png");
        plot.SavePng(path, 1000, 360);
        return path;
    }
}
