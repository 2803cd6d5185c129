namespace EdgeRuntime.Evaluation.Benchmarking;

/// <summary>One variant measured by the benchmark protocol. Times in milliseconds.</summary>
public sealed record VariantBenchmark(
    string Variant,
    string Precision,
    double SessionCreateMs,
    double FirstRunMs,
    int WarmupRuns,
    int Runs,
    double MinMs,
    double P50Ms,
    double P95Ms,
    double P99Ms,
    double MeanMs,
    double MaxMs,
    double InferencesPerSecond,
    long PeakRssBytes,
    string? Error);

public sealed record BenchReport(
    string Model,
    MachineInfo Machine,
    int BatchSize,
    string InputShapes,
    DateTimeOffset StartedUtc,
    IReadOnlyList<VariantBenchmark> Variants);
