namespace EdgeRuntime.Telemetry;

/// <summary>
/// When the background writer forces written records to the storage device (fsync). Until then a power loss
/// may take them: the reader drops what was torn and keeps everything before it.
/// </summary>
public enum TelemetrySyncPolicy
{
    /// <summary>After every batch the writer drains from the queue: at most one batch at risk; most wear on flash.</summary>
    EveryBatch,
    /// <summary>At most once per <see cref="TelemetryLogOptions.SyncInterval"/> (the default): at most that much telemetry at risk.</summary>
    Interval,
    /// <summary>Only on <see cref="TelemetryLog.FlushAsync"/>, segment roll and close; the OS writes back on its own schedule.</summary>
    OnFlushOnly,
}
