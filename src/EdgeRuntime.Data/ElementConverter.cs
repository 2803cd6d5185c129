using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Data;

/// <summary>Bulk conversions between raw little-endian element bytes and typed values.</summary>
internal static class ElementConverter
{
    /// <summary>Reverses the byte order of every element in place (big-endian file data to little-endian).</summary>
    public static void ReverseEndianness(DataElementType type, Span<byte> data)
    {
        switch (type.SizeOf())
        {
            case 2:
                var shorts = MemoryMarshal.Cast<byte, ushort>(data);
                BinaryPrimitives.ReverseEndianness(shorts, shorts);
                break;
            case 4:
                var ints = MemoryMarshal.Cast<byte, uint>(data);
                BinaryPrimitives.ReverseEndianness(ints, ints);
                break;
            case 8:
                var longs = MemoryMarshal.Cast<byte, ulong>(data);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }

    /// <summary>Converts elements to float, multiplying each by <paramref name="scale"/>.</summary>
    public static void ToFloat32(DataElementType type, ReadOnlySpan<byte> source, Span<float> destination, float scale = 1f)
    {
        switch (type)
        {
            case DataElementType.Float32:
                var floats = MemoryMarshal.Cast<byte, float>(source);
                if (scale == 1f)
                {
                    floats.CopyTo(destination);
                }
                else
                {
                    Convert(floats, destination, scale);
                }
                break;
            case DataElementType.UInt8:
                ConvertUnsignedBytes(source, destination, scale);
                break;
            case DataElementType.Int8:
                ConvertBytesViaTable(source, destination, i => (float)((sbyte)i * (double)scale));
                break;
            case DataElementType.Bool:
                ConvertBytesViaTable(source, destination, i => i == 0 ? 0f : scale);
                break;
            case DataElementType.Float64: Convert(MemoryMarshal.Cast<byte, double>(source), destination, scale); break;
            case DataElementType.Float16: Convert(MemoryMarshal.Cast<byte, Half>(source), destination, scale); break;
            case DataElementType.Int16: Convert(MemoryMarshal.Cast<byte, short>(source), destination, scale); break;
            case DataElementType.UInt16: Convert(MemoryMarshal.Cast<byte, ushort>(source), destination, scale); break;
            case DataElementType.Int32: Convert(MemoryMarshal.Cast<byte, int>(source), destination, scale); break;
            case DataElementType.UInt32: Convert(MemoryMarshal.Cast<byte, uint>(source), destination, scale); break;
            case DataElementType.Int64: Convert(MemoryMarshal.Cast<byte, long>(source), destination, scale); break;
            case DataElementType.UInt64: Convert(MemoryMarshal.Cast<byte, ulong>(source), destination, scale); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type");
        }
    }

    /// <summary>Converts integer (or bool) elements to long.</summary>
    public static void ToInt64(DataElementType type, ReadOnlySpan<byte> source, Span<long> destination)
    {
        switch (type)
        {
            case DataElementType.Int64: MemoryMarshal.Cast<byte, long>(source).CopyTo(destination); break;
            case DataElementType.UInt8 or DataElementType.Bool: Widen(source, destination); break;
            case DataElementType.Int8: Widen(MemoryMarshal.Cast<byte, sbyte>(source), destination); break;
            case DataElementType.Int16: Widen(MemoryMarshal.Cast<byte, short>(source), destination); break;
            case DataElementType.UInt16: Widen(MemoryMarshal.Cast<byte, ushort>(source), destination); break;
            case DataElementType.Int32: Widen(MemoryMarshal.Cast<byte, int>(source), destination); break;
            case DataElementType.UInt32: Widen(MemoryMarshal.Cast<byte, uint>(source), destination); break;
            case DataElementType.UInt64:
                var unsigned = MemoryMarshal.Cast<byte, ulong>(source);
                for (int i = 0; i < unsigned.Length; i++)
                {
                    destination[i] = checked((long)unsigned[i]);
                }
                break;
            default:
                throw new InvalidOperationException($"{type.ToName()} elements are not integers; cannot convert them to int64 exactly");
        }
    }

    private static void Convert<T>(ReadOnlySpan<T> source, Span<float> destination, float scale) where T : INumberBase<T>
    {
        destination = destination[..source.Length];
        if (scale == 1f)
        {
            for (int i = 0; i < source.Length; i++)
            {
                destination[i] = float.CreateTruncating(source[i]);
            }
        }
        else
        {
            for (int i = 0; i < source.Length; i++)
            {
                destination[i] = float.CreateTruncating(source[i]) * scale;
            }
        }
    }

    /// <summary>
    /// The hot path for 8-bit images: widen 8 → 16 → 32 bits and convert a vector at a time.
    /// byte × float is exact before the single rounding, so results match the scalar path bit for bit.
    /// </summary>
    private static void ConvertUnsignedBytes(ReadOnlySpan<byte> source, Span<float> destination, float scale)
    {
        destination = destination[..source.Length];
        int i = 0;
        if (Vector.IsHardwareAccelerated && source.Length >= Vector<byte>.Count)
        {
            var scaleVector = new Vector<float>(scale);
            int floatsPerVector = Vector<float>.Count;
            for (; i <= source.Length - Vector<byte>.Count; i += Vector<byte>.Count)
            {
                Vector.Widen(new Vector<byte>(source[i..]), out Vector<ushort> low, out Vector<ushort> high);
                Vector.Widen(low, out Vector<uint> q0, out Vector<uint> q1);
                Vector.Widen(high, out Vector<uint> q2, out Vector<uint> q3);
                Span<float> target = destination[i..];
                (Vector.ConvertToSingle(q0.As<uint, int>()) * scaleVector).CopyTo(target);
                (Vector.ConvertToSingle(q1.As<uint, int>()) * scaleVector).CopyTo(target[floatsPerVector..]);
                (Vector.ConvertToSingle(q2.As<uint, int>()) * scaleVector).CopyTo(target[(2 * floatsPerVector)..]);
                (Vector.ConvertToSingle(q3.As<uint, int>()) * scaleVector).CopyTo(target[(3 * floatsPerVector)..]);
            }
        }
        for (; i < source.Length; i++)
        {
            destination[i] = source[i] * scale;
        }
    }

    /// <summary>Byte-sized elements have 256 possible values, so a table lookup beats arithmetic.</summary>
    private static void ConvertBytesViaTable(ReadOnlySpan<byte> source, Span<float> destination, Func<int, float> valueOf)
    {
        Span<float> table = stackalloc float[256];
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = valueOf(i);
        }
        destination = destination[..source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = table[source[i]];
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<long> destination) where T : IBinaryInteger<T>
    {
        destination = destination[..source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = long.CreateTruncating(source[i]);
        }
    }
}
