namespace EdgeRuntime.Devices;

/// <summary>Whether a sensor reading can be trusted.</summary>
public enum ReadingStatus
{
    /// <summary>Read just now and within its plausible range.</summary>
    Ok,
    /// <summary>No value: the source is missing, unreadable, or gave something implausible.</summary>
    Unavailable,
    /// <summary>A value exists but should not be trusted (for example stuck at one value for too long).</summary>
    Stale,
}
