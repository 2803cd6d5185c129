namespace EdgeRuntime.Protocol;

/// <summary>Caps every frame read from a peer. MessagePack itself has no size cap on stream reads, so framing enforces one.</summary>
public sealed record FrameLimits
{
    public const int DefaultMaxFrameBytes = 8 << 20;
    public const int DefaultMaxDepth = 16;

    public static readonly FrameLimits Default = new();

    /// <summary>Largest payload (after the 4-byte length prefix) accepted.</summary>
    public int MaxFrameBytes { get; init; } = DefaultMaxFrameBytes;

    /// <summary>Deepest nesting of arrays and maps; the envelope itself is depth 1.</summary>
    public int MaxDepth { get; init; } = DefaultMaxDepth;

    /// <summary>An oversized frame up to this many bytes is read and thrown away so the connection can go on;
    /// a larger one closes the connection, since skipping it would cost more than reconnecting.</summary>
    public long MaxDiscardBytes { get; init; } = 64L << 20;

    public void Validate()
    {
        if (MaxFrameBytes < 64 || MaxFrameBytes > (1 << 30))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxFrameBytes), MaxFrameBytes, "the frame cap must be between 64 bytes and 1 GiB");
        }
        if (MaxDepth < 4 || MaxDepth > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDepth), MaxDepth, "the nesting cap must be between 4 and 64");
        }
        if (MaxDiscardBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDiscardBytes), MaxDiscardBytes, "must not be negative");
        }
    }
}
