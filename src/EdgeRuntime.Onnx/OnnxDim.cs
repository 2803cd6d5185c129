using System.Globalization;

namespace EdgeRuntime.Onnx;

/// <summary>
/// One dimension of a declared tensor shape: a concrete size, a symbolic name such as
/// "batch", or unknown (neither). Converts implicitly from long and string.
/// </summary>
public readonly record struct OnnxDim
{
    private OnnxDim(long? value, string? symbol)
    {
        Value = value;
        Symbol = symbol;
    }

    public long? Value { get; }

    public string? Symbol { get; }

    public bool IsKnown => Value.HasValue;

    public bool IsSymbolic => Symbol is not null;

    public static OnnxDim Unknown => default;

    public static OnnxDim Known(long value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        return new OnnxDim(value, null);
    }

    public static OnnxDim Symbolic(string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        return new OnnxDim(null, symbol);
    }

    public static implicit operator OnnxDim(long value) => Known(value);

    public static implicit operator OnnxDim(string symbol) => Symbolic(symbol);

    /// <summary>The concrete size, or <paramref name="fallback"/> for symbolic and unknown dims.</summary>
    public long ValueOr(long fallback) => Value ?? fallback;

    public override string ToString() => Value?.ToString(CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}
