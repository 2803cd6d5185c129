using System.Runtime.InteropServices;

namespace EdgeRuntime.Data;

/// <summary>
/// A dense array in row-major (C) order whose elements are stored as little-endian bytes,
/// the in-memory form of a .npy file (IDX files load into it too).
/// </summary>
public sealed class NpyArray
{
    public NpyArray(DataElementType elementType, long[] shape, Memory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = ShapeMath.ElementCountOrOverflow(shape);
        if (count < 0)
        {
            throw new ArgumentException($"shape {ShapeMath.ToTuple(shape)} has a negative dimension or too many elements", nameof(shape));
        }
        long expected = count * elementType.SizeOf();
        if (data.Length != expected)
        {
            throw new ArgumentException(
                $"shape {ShapeMath.ToTuple(shape)} of {elementType.ToName()} needs {expected} bytes, got {data.Length}", nameof(data));
        }
        ElementType = elementType;
        Shape = shape;
        Data = data;
    }

    /// <summary>A zero-filled array.</summary>
    public static NpyArray Zeros(DataElementType elementType, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = ShapeMath.ElementCountOrOverflow(shape);
        if (count < 0 || count > Array.MaxLength / elementType.SizeOf())
        {
            throw new ArgumentException($"shape {ShapeMath.ToTuple(shape)} is negative or too large for one in-memory array", nameof(shape));
        }
        return new NpyArray(elementType, shape, new byte[count * elementType.SizeOf()]);
    }

    /// <summary>An array holding a copy of <paramref name="values"/>; the element type follows <typeparamref name="T"/>.</summary>
    public static NpyArray FromValues<T>(ReadOnlySpan<T> values, params long[] shape) where T : unmanaged
    {
        byte[] bytes = MemoryMarshal.AsBytes(values).ToArray();
        return new NpyArray(DataElementTypes.Of<T>(), shape, bytes);
    }

    public DataElementType ElementType { get; }

    /// <summary>Dimensions, outermost first; empty for a 0-d (scalar) array.</summary>
    public long[] Shape { get; }

    /// <summary>The elements as little-endian bytes in row-major order.</summary>
    public Memory<byte> Data { get; }

    public int Rank => Shape.Length;
    public long ElementCount => Data.Length / ElementType.SizeOf();

    /// <summary>The elements reinterpreted as <typeparamref name="T"/>, which must match <see cref="ElementType"/>.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (!DataElementTypes.TryGetElementType(typeof(T), out var requested) || requested != ElementType)
        {
            throw new InvalidOperationException(
                $"array holds {ElementType.ToName()} ({ElementType.ToClrType().Name}) elements, not {typeof(T).Name}; use ToFloat32()/ToInt64() to convert");
        }
        return MemoryMarshal.Cast<byte, T>(Data.Span);
    }

    /// <summary>A copy of the elements as <typeparamref name="T"/>, which must match <see cref="ElementType"/>.</summary>
    public T[] ToArray<T>() where T : unmanaged => AsSpan<T>().ToArray();

    /// <summary>The elements converted to float (any element type; bool becomes 0 or 1).</summary>
    public float[] ToFloat32()
    {
        var result = new float[ElementCount];
        ElementConverter.ToFloat32(ElementType, Data.Span, result);
        return result;
    }

    /// <summary>Converts the elements to float into <paramref name="destination"/>, which must hold <see cref="ElementCount"/> values.</summary>
    public void ToFloat32(Span<float> destination)
    {
        if (destination.Length < ElementCount)
        {
            throw new ArgumentException($"destination holds {destination.Length} values but the array has {ElementCount}", nameof(destination));
        }
        ElementConverter.ToFloat32(ElementType, Data.Span, destination);
    }

    /// <summary>The elements converted to long; integer and bool element types only.</summary>
    /// <exception cref="InvalidOperationException">The elements are floating point.</exception>
    /// <exception cref="OverflowException">A uint64 element exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64()
    {
        var result = new long[ElementCount];
        ElementConverter.ToInt64(ElementType, Data.Span, result);
        return result;
    }

    /// <summary>The same elements viewed with another shape of equal element count (no copy).</summary>
    public NpyArray Reshape(params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (ShapeMath.ElementCountOrOverflow(shape) != ElementCount)
        {
            throw new ArgumentException(
                $"cannot reshape {ShapeMath.ToTuple(Shape)} ({ElementCount} elements) to {ShapeMath.ToTuple(shape)}", nameof(shape));
        }
        return new NpyArray(ElementType, shape, Data);
    }

    public override string ToString() => $"{ElementType.ToName()}{ShapeMath.ToTuple(Shape)}";
}
