using System.Globalization;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Evaluation.Benchmarking;

/// <summary>The text of `edgert bench`'s reports, and the NAME=D0xD1x... shapes the timing commands take.</summary>
public static class BenchText
{
    public static void WriteText(TextWriter output, BenchReport report)
    {
        output.WriteLine($"{report.Model}: batch {report.BatchSize}, inputs {report.InputShapes}");
        output.WriteLine($"machine: {report.Machine}");
        var table = new TextTable("variant", "precision", "create ms", "first ms", "runs", "min ms", "p50 ms", "p95 ms", "p99 ms", "inf/s", "peak rss", "error");
        foreach (var v in report.Variants)
        {
            table.Add(v.Variant, v.Precision, v.SessionCreateMs, v.FirstRunMs, v.Runs, v.MinMs, v.P50Ms, v.P95Ms, v.P99Ms,
                Math.Round(v.InferencesPerSecond), v.PeakRssBytes > 0 ? Formatting.Bytes(v.PeakRssBytes) : null, v.Error);
        }
        table.WriteTo(output);
    }

    public static void WriteText(TextWriter output, OverheadReport report)
    {
        output.WriteLine($"runtime overhead on {report.Model}, batch {report.BatchSize}, {report.Rounds} interleaved rounds of {report.RunsPerRound} runs");
        output.WriteLine($"machine: {report.Machine}");
        var table = new TextTable("mode", "runs", "mean us", "p50 us", "p95 us", "ratio mean", "ratio p50");
        foreach (var mode in report.Modes)
        {
            table.Add(mode.Mode, mode.Runs, mode.MeanUs, mode.P50Us, mode.P95Us, mode.RatioMean, mode.RatioP50);
        }
        table.WriteTo(output);
    }

    /// <summary>--shape NAME=D0xD1x... (repeatable).</summary>
    public static Dictionary<string, long[]> ParseShapes(IEnumerable<string> specs)
    {
        var shapes = new Dictionary<string, long[]>();
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            if (equals <= 0)
            {
                throw new ArgumentException($"--shape '{spec}': expected NAME=D0xD1x...");
            }
            try
            {
                shapes[spec[..equals]] = [.. spec[(equals + 1)..].Split('x', ',').Select(d => long.Parse(d, CultureInfo.InvariantCulture))];
            }
            catch (FormatException)
            {
                throw new ArgumentException($"--shape '{spec}': dimensions must be whole numbers separated by 'x'");
            }
        }
        return shapes;
    }
}
