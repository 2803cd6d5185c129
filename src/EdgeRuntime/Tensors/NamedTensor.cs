using System.Buffers;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Tensors;

/// <summary>
/// A named dense tensor whose elements live in caller-owned little-endian bytes.
/// The runtime reads inputs from this memory in place (pinned, not copied).
/// </summary>
public sealed class NamedTensor
{
    public NamedTensor(string name, ElementType elementType, long[] shape, Memory<byte> data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (elementType == ElementType.String)
        {
            throw new NotSupportedException($"tensor '{name}': string tensors are not supported");
        }
        long count = ElementCount(shape, name);
        long expected = count * elementType.SizeOf();
        if (data.Length != expected)
        {
            throw new ArgumentException(
                $"tensor '{name}': shape [{string.Join(",", shape)}] of {elementType.ToName()} needs {expected} bytes, got {data.Length}",
                nameof(data));
        }
        Name = name;
        ElementType = elementType;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }
    public ElementType ElementType { get; }
    public long[] Shape { get; }
    public Memory<byte> Data { get; }
    public long ElementCount() => ElementCount(Shape, Name);

    public Span<T> AsSpan<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.Span);

    public static NamedTensor FromArray<T>(string name, T[] values, params long[] shape) where T : unmanaged =>
        new(name, ElementTypeOf<T>(), shape, new ArrayMemoryManager<T>(values).Memory);

    public static NamedTensor Zeros(string name, ElementType type, params long[] shape) =>
        new(name, type, shape, new byte[ElementCount(shape, name) * type.SizeOf()]);

    public static ElementType ElementTypeOf<T>() where T : unmanaged => typeof(T) switch
    {
        var t when t == typeof(float) => ElementType.Float32,
        var t when t == typeof(double) => ElementType.Float64,
        var t when t == typeof(Half) => ElementType.Float16,
        var t when t == typeof(sbyte) => ElementType.Int8,
        var t when t == typeof(byte) => ElementType.UInt8,
        var t when t == typeof(short) => ElementType.Int16,
        var t when t == typeof(ushort) => ElementType.UInt16,
        var t when t == typeof(int) => ElementType.Int32,
        var t when t == typeof(uint) => ElementType.UInt32,
        var t when t == typeof(long) => ElementType.Int64,
        var t when t == typeof(ulong) => ElementType.UInt64,
        var t when t == typeof(bool) => ElementType.Bool,
        _ => throw new NotSupportedException($"no tensor element type for {typeof(T).Name}"),
    };

    /// <summary>The elements as doubles (bool as 0 or 1), for comparing outputs across element types.</summary>
    public double[] ToDoubles() => ElementType switch
    {
        ElementType.Float32 => Array.ConvertAll(AsSpan<float>().ToArray(), v => (double)v),
        ElementType.Float16 => Array.ConvertAll(AsSpan<Half>().ToArray(), v => (double)v),
        ElementType.Float64 => AsSpan<double>().ToArray(),
        ElementType.Int64 => Array.ConvertAll(AsSpan<long>().ToArray(), v => (double)v),
        ElementType.Int32 => Array.ConvertAll(AsSpan<int>().ToArray(), v => (double)v),
        ElementType.Int16 => Array.ConvertAll(AsSpan<short>().ToArray(), v => (double)v),
        ElementType.Int8 => Array.ConvertAll(AsSpan<sbyte>().ToArray(), v => (double)v),
        ElementType.UInt8 => Array.ConvertAll(AsSpan<byte>().ToArray(), v => (double)v),
        ElementType.UInt16 => Array.ConvertAll(AsSpan<ushort>().ToArray(), v => (double)v),
        ElementType.UInt32 => Array.ConvertAll(AsSpan<uint>().ToArray(), v => (double)v),
        ElementType.UInt64 => Array.ConvertAll(AsSpan<ulong>().ToArray(), v => (double)v),
        ElementType.Bool => Array.ConvertAll(AsSpan<byte>().ToArray(), v => v != 0 ? 1.0 : 0.0),
        _ => throw new NotSupportedException($"tensor '{Name}' is {ElementType.ToName()}, which has no numeric value"),
    };

    public override string ToString() => $"{Name}: {ElementType.ToName()}[{string.Join(",", Shape)}]";

    internal static long ElementCount(ReadOnlySpan<long> shape, string name)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                throw new ArgumentException($"tensor '{name}': negative dimension {dim} in shape [{string.Join(",", shape.ToArray())}]");
            }
            count = checked(count * dim);
        }
        return count;
    }

    /// <summary>Views a T[] as bytes without copying, so typed arrays can feed the runtime directly.</summary>
    private sealed class ArrayMemoryManager<T>(T[] array) : MemoryManager<byte> where T : unmanaged
    {
        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            byte* start = (byte*)handle.AddrOfPinnedObject() + elementIndex;
            return new MemoryHandle(start, handle, this);
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}
