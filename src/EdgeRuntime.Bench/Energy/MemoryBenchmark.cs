using System.Diagnostics;
using EdgeRuntime.Client;
using EdgeRuntime.Compression.Packing;
using EdgeRuntime.Reporting;

namespace EdgeRuntime.Bench.Energy;

/// <summary>
/// Resident memory of the daemon with 1, 3, 5 ... resident variants of one model: a bundle of the first N variants is
/// made, a daemon process serves it (every variant loaded at open), and its VmRSS is read from /proc once it answers.
/// Each count is measured with every daemon option set given (e.g. the CPU memory arena off), so what each saves shows.
/// </summary>
public static class MemoryBenchmark
{
    public sealed record Settings(IReadOnlyList<(string Id, string Path)> Variants, IReadOnlyList<int> Counts,
        IReadOnlyList<(string Name, string[] Arguments)> Options, KnobBenchmark.DaemonCommand Daemon, string WorkDirectory);

    public sealed record Row(string Options, int Variants, string Ids, double RssMiB, double FilesMiB, double RatioToOne);

    public sealed record Report(IReadOnlyList<Row> Rows, string LoadAverage)
    {
        public void WriteText(TextWriter output)
        {
            var table = new TextTable("daemon", "variants", "ids", "RSS MiB", "model files MiB", "vs 1 variant");
            foreach (var row in Rows)
            {
                table.Add(row.Options, row.Variants, row.Ids, Math.Round(row.RssMiB, 1), Math.Round(row.FilesMiB, 1), $"{row.RatioToOne:F2}x");
            }
            table.WriteTo(output);
            output.WriteLine($"load average: {LoadAverage}");
        }
    }

    public static async Task<Report> RunAsync(Settings settings, TextWriter? log, CancellationToken cancellationToken = default)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the memory benchmark reads /proc and runs on Linux only");
        }
        if (settings.Counts.Any(c => c < 1 || c > settings.Variants.Count))
        {
            throw new ArgumentException($"variant counts must be between 1 and the {settings.Variants.Count} variants given");
        }
        var rows = new List<Row>();
        foreach (var (name, arguments) in settings.Options)
        {
            double? one = null;
            foreach (int count in settings.Counts.Order())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var chosen = settings.Variants.Take(count).ToList();
                string bundle = Path.Combine(settings.WorkDirectory, $"bundle-{count}");
                if (!Directory.Exists(bundle))
                {
                    BundleBuilder.Create(bundle, "memory", [.. chosen.Select(v => new VariantSource(v.Id, v.Path))], description: "memory benchmark");
                }
                log?.WriteLine($"{name}: {count} variant(s) ...");
                double rss = await MeasureAsync(settings, bundle, arguments, cancellationToken) / (1024.0 * 1024);
                one ??= rss;
                double files = chosen.Sum(v => new FileInfo(v.Path).Length) / (1024.0 * 1024);
                rows.Add(new Row(name, count, string.Join(",", chosen.Select(v => v.Id)), rss, files, rss / one.Value));
            }
        }
        return new Report(rows, File.ReadAllText("/proc/loadavg").Trim());
    }

    private static async Task<long> MeasureAsync(Settings settings, string bundle, string[] arguments, CancellationToken cancellationToken)
    {
        string socket = Path.Combine(settings.WorkDirectory, $"memory-{Guid.NewGuid():N}.sock");
        using var daemon = Process.Start(settings.Daemon.StartInfo([bundle, "--socket", socket, .. arguments])) ?? throw new InvalidOperationException($"could not start {settings.Daemon.File}");
        daemon.OutputDataReceived += (_, _) => { };
        daemon.ErrorDataReceived += (_, _) => { };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        try
        {
            var ready = Stopwatch.StartNew();
            while (!File.Exists(socket))
            {
                if (daemon.HasExited || ready.Elapsed > TimeSpan.FromMinutes(5))
                {
                    throw new InvalidOperationException($"the daemon did not open its socket (exit {(daemon.HasExited ? daemon.ExitCode : -1)})");
                }
                await Task.Delay(100, cancellationToken);
            }
            await using var client = new EdgertClient(socket);
            await client.ConnectAsync(cancellationToken);
            await client.StatusAsync(cancellationToken: cancellationToken);
            // Let the governor's first ticks (and any session they prepare) happen before reading.
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            return ReadRss(daemon.Id);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill(entireProcessTree: true);
                await daemon.WaitForExitAsync(CancellationToken.None);
            }
            File.Delete(socket);
        }
    }

    /// <summary>VmRSS of a process in bytes.</summary>
    public static long ReadRss(int pid)
    {
        foreach (string line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
            }
        }
        throw new InvalidDataException($"/proc/{pid}/status has no VmRSS line");
    }
}
