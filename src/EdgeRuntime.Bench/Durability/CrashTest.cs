using System.Diagnostics;
using System.Globalization;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Bench.Durability;

/// <summary>What a kill-based crash test of the telemetry log found.</summary>
public sealed record CrashTestReport(
    int Kills,
    long RecordsAcknowledged,
    long RecordsRecovered,
    long LostAcknowledged,
    long CorruptAccepted,
    long OutOfOrder,
    long TornTailBytes,
    long CorruptBytes,
    int Segments,
    double Seconds,
    IReadOnlyList<string> Problems)
{
    public bool Passed => LostAcknowledged == 0 && CorruptAccepted == 0 && OutOfOrder == 0 && Problems.Count == 0;
}

/// <summary>
/// Starts a <see cref="CrashWriter"/> process on one directory, kills it with SIGKILL at a random moment, starts it
/// again on the same directory, and so on; then reads the directory back. Every record the writer reported durable
/// must be there, intact; every record accepted must be one the writer wrote; sequence numbers must strictly increase.
/// </summary>
public static class CrashTest
{
    /// <param name="startWriter">Describes the writer process for one run: its arguments must name the directory and the seed.</param>
    /// <param name="maxKillDelay">Each kill comes between 0 and this long after the writer reports the log open.</param>
    public static CrashTestReport Run(string directory, Func<string, int, ProcessStartInfo> startWriter, int kills, int seed,
        TimeSpan maxKillDelay, Action<int>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kills, 1);
        Directory.CreateDirectory(directory);
        var random = new Random(seed);
        var problems = new List<string>();
        long acknowledged = 0;
        var clock = Stopwatch.StartNew();
        for (int kill = 0; kill < kills; kill++)
        {
            var (opened, durable, problem) = RunOnce(startWriter(directory, seed * 100_003 + kill), random.NextDouble() * maxKillDelay);
            if (problem is not null)
            {
                problems.Add($"run {kill + 1}: {problem}");
                if (problems.Count >= 10)
                {
                    break;
                }
            }
            if (opened is long recovered && recovered < acknowledged)
            {
                problems.Add($"run {kill + 1}: the log reopened at sequence {recovered}, below the {acknowledged} already acknowledged durable");
            }
            acknowledged = Math.Max(acknowledged, durable);
            progress?.Invoke(kill + 1);
        }
        return Verify(directory, kills, acknowledged, clock.Elapsed.TotalSeconds, problems);
    }

    /// <summary>Reads the directory back and checks it against the highest sequence acknowledged durable.</summary>
    public static CrashTestReport Verify(string directory, int kills, long acknowledged, double seconds, List<string> problems)
    {
        long corrupt = 0, outOfOrder = 0, previous = 0, present = 0;
        var read = TelemetryLogReader.ReadDirectory(directory, record =>
        {
            if (!CrashWriter.IsIntact(record))
            {
                corrupt++;
                return;
            }
            if (record.Sequence <= previous)
            {
                outOfOrder++;
            }
            else if (record.Sequence <= acknowledged)
            {
                present++;
            }
            previous = Math.Max(previous, record.Sequence);
        });
        if (read.UndecodableRecords > 0)
        {
            problems.Add($"{read.UndecodableRecords} records passed their checksum but did not decode");
        }
        return new CrashTestReport(kills, acknowledged, read.Records, acknowledged - present, corrupt, outOfOrder,
            read.TornTailBytes, read.CorruptBytes, read.Segments, seconds, problems);
    }

    private static (long? Opened, long Durable, string? Problem) RunOnce(ProcessStartInfo start, TimeSpan killAfterOpen)
    {
        long? opened = null;
        long durable = 0;
        string? malformed = null;
        using var openedSignal = new ManualResetEventSlim(false);
        using var child = new KillableChild(start, "crash writer");
        var process = child.Process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not string line)
            {
                openedSignal.Set();
                return;
            }
            var parts = line.Split(' ');
            if (parts.Length == 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                if (parts[0] == "open")
                {
                    opened = value;
                    openedSignal.Set();
                    return;
                }
                if (parts[0] == "durable")
                {
                    durable = Math.Max(durable, value);
                    return;
                }
            }
            malformed ??= $"unexpected line from the writer: '{line}'";
        };
        child.Start();
        process.BeginOutputReadLine();
        string? problem = null;
        if (!openedSignal.Wait(TimeSpan.FromSeconds(60)))
        {
            problem = "the writer did not open the log within 60 s";
        }
        else if (opened is null)
        {
            problem = "the writer exited before opening the log";
        }
        else
        {
            Thread.Sleep(killAfterOpen);
        }
        if (child.Kill())
        {
            problem ??= $"the writer exited by itself with code {process.ExitCode}: {child.Errors}";
        }
        return (opened, durable, problem ?? malformed);
    }

    /// <summary>
    /// `edgert telemetry crash-bench`: the kills in <paramref name="given"/> (which must be empty) or in a temporary
    /// directory deleted afterwards.
    /// </summary>
    public static CrashTestReport RunChecked(string? given, Func<string, int, ProcessStartInfo> startWriter, int kills, int seed, int maxDelayMs, Action<int>? progress)
    {
        if (kills is < 1 or > 1_000_000)
        {
            throw new ArgumentException($"--kills must be within [1, 1000000], not {kills}");
        }
        if (maxDelayMs is < 0 or > 60_000)
        {
            throw new ArgumentException($"--max-delay-ms must be within [0, 60000], not {maxDelayMs}");
        }
        if (given is not null && Directory.Exists(given) && Directory.EnumerateFileSystemEntries(given).Any())
        {
            throw new ArgumentException($"--dir '{given}' is not empty; the crash test needs a log of its own");
        }
        string directory = given ?? Path.Combine(Path.GetTempPath(), "edgeruntime-crash-bench", Guid.NewGuid().ToString("N"));
        try
        {
            return Run(directory, startWriter, kills, seed, TimeSpan.FromMilliseconds(maxDelayMs), progress);
        }
        finally
        {
            if (given is null)
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    public static void WriteText(TextWriter output, CrashTestReport report)
    {
        output.WriteLine($"kills                 {report.Kills} ({report.Seconds:F0} s, {report.Seconds / report.Kills * 1000:F0} ms per start, write and kill)");
        output.WriteLine($"records acknowledged  {report.RecordsAcknowledged}");
        output.WriteLine($"records recovered     {report.RecordsRecovered} in {report.Segments} segments");
        output.WriteLine($"lost acknowledged     {report.LostAcknowledged}");
        output.WriteLine($"corrupt accepted      {report.CorruptAccepted}");
        output.WriteLine($"out of order          {report.OutOfOrder}");
        output.WriteLine($"torn tail bytes       {report.TornTailBytes} (dropped by the reader)");
        output.WriteLine($"corrupt bytes         {report.CorruptBytes}");
        foreach (string problem in report.Problems)
        {
            output.WriteLine($"problem: {problem}");
        }
        output.WriteLine(report.Passed ? "passed" : "FAILED");
    }
}
