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
    int Seed);
