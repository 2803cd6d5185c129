namespace EdgeRuntime.Devices;

/// <summary>How one sensor source has behaved since the monitor started.</summary>
public sealed record SourceHealth(string Source, long Reads, long Ok, long Unavailable, long Stale, long Faults, string? LastProblem);
