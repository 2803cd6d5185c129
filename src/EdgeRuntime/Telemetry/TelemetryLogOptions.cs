namespace EdgeRuntime.Telemetry;

/// <summary>Settings of the device telemetry log; checked by <see cref="Validate"/> when the log opens.</summary>
public sealed record TelemetryLogOptions
{
    /// <summary>Directory that holds the segment files (created when missing).</summary>
    public required string Directory { get; init; }
    public string DeviceId { get; init; } = "device";
    /// <summary>The board kind fleet fitting groups by, e.g. a board descriptor id.</summary>
    public string DeviceClass { get; init; } = "unknown";
    /// <summary>A segment is closed and a new one started once it reaches this size.</summary>
    public long SegmentBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Bound on all segments together; the oldest segments are deleted to stay under it.</summary>
    public long MaxTotalBytes { get; init; } = 64 * 1024 * 1024;
    /// <summary>Records queued for the writer; when full, new records are dropped and counted rather than waited for.</summary>
    public int QueueCapacity { get; init; } = 4096;
    public TelemetrySyncPolicy SyncPolicy { get; init; } = TelemetrySyncPolicy.Interval;
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>After a failed write, records are counted lost without touching the disk for this long before the next try.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(5);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("telemetry log: Directory must be set");
        }
        if (string.IsNullOrWhiteSpace(DeviceId))
        {
            throw new ArgumentException("telemetry log: DeviceId must not be empty");
        }
        if (SegmentBytes < LogFormat.BlockSize)
        {
            throw new ArgumentException($"telemetry log: SegmentBytes {SegmentBytes} is below one block ({LogFormat.BlockSize} bytes)");
        }
        if (MaxTotalBytes < 2 * SegmentBytes)
        {
            throw new ArgumentException($"telemetry log: MaxTotalBytes {MaxTotalBytes} must hold at least two segments of {SegmentBytes} bytes");
        }
        if (QueueCapacity < 1)
        {
            throw new ArgumentException($"telemetry log: QueueCapacity {QueueCapacity} must be at least 1");
        }
        if (SyncPolicy == TelemetrySyncPolicy.Interval && SyncInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"telemetry log: SyncInterval {SyncInterval} must be positive");
        }
        if (RetryInterval < TimeSpan.Zero)
        {
            throw new ArgumentException($"telemetry log: RetryInterval {RetryInterval} must not be negative");
        }
        if (!Enum.IsDefined(SyncPolicy))
        {
            throw new ArgumentException($"telemetry log: unknown SyncPolicy {SyncPolicy}");
        }
    }
}
