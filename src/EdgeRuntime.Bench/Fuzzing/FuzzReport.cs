using EdgeRuntime.Reporting;

namespace EdgeRuntime.Bench.Fuzzing;

/// <summary>Outcome of a fuzz run. Crashes are exceptions other than the typed protocol errors; hangs are frames
/// slower than the hang limit.</summary>
public sealed record FuzzReport(
    long Frames,
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<string, long> RejectedByCode,
    long Crashes,
    string? FirstCrash,
    long Hangs,
    double MaxFrameMs,
    long PeakManagedBytes,
    long StartManagedBytes,
    double Seconds,
    int Seed)
{
    public void WriteText(TextWriter output)
    {
        output.WriteLine($"{Frames:N0} mutated frames in {Seconds:0.0} s ({Frames / Seconds:N0} frames/s), seed {Seed}");
        output.WriteLine($"decoded whole: {Accepted:N0}; rejected with a typed error: {Rejected:N0}");
        foreach (var (code, n) in RejectedByCode.OrderByDescending(p => p.Value))
        {
            output.WriteLine($"  {code,-20} {n:N0}");
        }
        output.WriteLine($"crashes: {Crashes}; hangs (> 1 s): {Hangs}; slowest frame: {MaxFrameMs:0.###} ms");
        output.WriteLine($"managed heap: {Formatting.Bytes(StartManagedBytes)} at start, {Formatting.Bytes(PeakManagedBytes)} at peak");
        if (FirstCrash is string crash)
        {
            output.WriteLine("first crash: " + crash);
        }
    }
}
