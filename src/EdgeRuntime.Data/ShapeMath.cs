namespace EdgeRuntime.Data;

/// <summary>Element counts and display of array shapes.</summary>
internal static class ShapeMath
{
    /// <summary>Product of the dimensions, or -1 when it does not fit in a long (so callers can report it).</summary>
    public static long ElementCountOrOverflow(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                return -1;
            }
            if (dim != 0 && count > long.MaxValue / dim)
            {
                // A zero dimension later on would still make the product 0.
                return shape.Contains(0) ? 0 : -1;
            }
            count *= dim;
        }
        return count;
    }

    /// <summary>Shape in Python tuple notation, as NumPy prints it: (), (5,), (2, 3).</summary>
    public static string ToTuple(ReadOnlySpan<long> shape) => shape.Length switch
    {
        0 => "()",
        1 => $"({shape[0]},)",
        _ => $"({string.Join(", ", shape.ToArray())})",
    };
}
