namespace EdgeRuntime.Bundles;

/// <summary>A bundle as a whole cannot be used: its manifest is missing, unreadable or of an unknown version.</summary>
public sealed class BundleException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One variant of a bundle cannot be used; the others may still serve.</summary>
public sealed class VariantUnavailableException(string variantId, string reason, Exception? inner = null)
    : Exception($"variant '{variantId}' is unavailable: {reason}", inner)
{
    public string VariantId { get; } = variantId;
    public string Reason { get; } = reason;
}
