using System.Globalization;
using System.Text;

namespace EdgeRuntime.Onnx;

/// <summary>Small helpers for concrete tensor shapes (lists of non-negative dims).</summary>
public static class TensorShapes
{
    /// <summary>Product of the dims; 1 for a scalar (no dims). Throws on a negative dim or overflow.</summary>
    public static long ElementCount(IReadOnlyList<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long count = 1;
        for (int i = 0; i < dims.Count; i++)
        {
            long dim = dims[i];
            if (dim < 0)
            {
                throw new ArgumentException($"Shape {Format(dims)} has a negative dim at axis {i}.", nameof(dims));
            }

            count = checked(count * dim);
        }

        return count;
    }

    /// <summary>Product of dims[start..end).</summary>
    public static long Product(IReadOnlyList<long> dims, int start, int end)
    {
        ArgumentNullException.ThrowIfNull(dims);
        long product = 1;
        for (int i = start; i < end; i++)
        {
            product = checked(product * dims[i]);
        }

        return product;
    }

    /// <summary>Formats a shape the way error messages show it: <c>[1,16,28,28]</c>.</summary>
    public static string Format(IEnumerable<long> dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        var text = new StringBuilder("[");
        bool first = true;
        foreach (long dim in dims)
        {
            if (!first)
            {
                text.Append(',');
            }

            text.Append(dim.ToString(CultureInfo.InvariantCulture));
            first = false;
        }

        return text.Append(']').ToString();
    }

    /// <summary>Normalises a possibly negative axis against a rank, throwing when out of range.</summary>
    public static int NormalizeAxis(long axis, int rank)
    {
        long normalized = axis < 0 ? axis + rank : axis;
        if (normalized < 0 || normalized >= rank)
        {
            throw new ArgumentOutOfRangeException(nameof(axis), $"Axis {axis} is out of range for rank {rank}.");
        }

        return (int)normalized;
    }
}
