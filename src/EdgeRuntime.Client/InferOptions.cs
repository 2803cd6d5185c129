namespace EdgeRuntime.Client;

public enum InferPriority
{
    Low = 0,
    Normal = 1,
    High = 2,
}

/// <summary>Per-request settings of an inference.</summary>
public sealed record InferOptions
{
    /// <summary>Model name; null when the daemon serves one model.</summary>
    public string? Model { get; init; }

    /// <summary>The daemon does not start the request after this much time from receipt, and stops it if it runs past it.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary>Lowest recorded quality the serving variant may have.</summary>
    public double? MinQuality { get; init; }

    public InferPriority Priority { get; init; } = InferPriority.Normal;

    /// <summary>Let NaN and ±Inf in float inputs through to the model (the daemon refuses them by default).</summary>
    public bool AllowNonFinite { get; init; }
}
