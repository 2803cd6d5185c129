using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// A tensor's values as a typed CLR array plus its element type and dims, converted to and
/// from <see cref="TensorProto"/>. The array is used as is, not copied: editing it edits the tensor.
/// </summary>
/// <remarks>
/// Array element types: float (float and bfloat16), double, <see cref="Half"/> (float16), sbyte,
/// byte, short, ushort, int, uint, long, ulong and bool. Protos are always written with raw_data;
/// reading accepts raw_data, the typed repeated fields and external data.
/// </remarks>
public sealed class TensorData
{
    private readonly long[] _dims;

    private TensorData(OnnxDataType dataType, long[] dims, Array values)
    {
        DataType = dataType;
        _dims = dims;
        Values = values;
    }

    public OnnxDataType DataType { get; }

    public IReadOnlyList<long> Dims => _dims;

    public int Rank => _dims.Length;

    public long ElementCount => Values.LongLength;

    /// <summary>The values in row-major order, as an array of the type listed in the class remarks.</summary>
    public Array Values { get; }

    /// <summary>
    /// Wraps <paramref name="values"/> as a tensor with the given dims; no dims means a scalar,
    /// which needs exactly one value.
    /// </summary>
    public static TensorData Create<T>(T[] values, params ReadOnlySpan<long> dims)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.GetType() != typeof(T[]))
        {
            // A ulong[] can travel as long[] through object casts; its element type must be the real one.
            throw new ArgumentException($"The array is a {values.GetType().Name}, not a {typeof(T).Name}[].", nameof(values));
        }

        return new TensorData(OnnxDataTypes.FromClrType<T>(), CheckDims(values.Length, dims), values);
    }

    /// <summary>A one-dimensional tensor holding <paramref name="values"/>.</summary>
    public static TensorData Vector<T>(T[] values)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(values);
        return Create(values, values.Length);
    }

    public static TensorData Scalar<T>(T value)
        where T : unmanaged => Create([value]);

    /// <summary>A bfloat16 tensor; values are rounded to bfloat16 when written to a proto.</summary>
    public static TensorData CreateBFloat16(float[] values, params ReadOnlySpan<long> dims)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new TensorData(OnnxDataType.BFloat16, CheckDims(values.Length, dims), values);
    }

    /// <summary>The same values under other dims with the same element count (the array is shared).</summary>
    public TensorData WithDims(params ReadOnlySpan<long> dims) => new(DataType, CheckDims(Values.LongLength, dims), Values);

    /// <summary>The values array itself; throws when it does not hold <typeparamref name="T"/>.</summary>
    public T[] GetValues<T>()
    {
        // Compare exact types: the CLR lets a ulong[] pass as long[] (and byte[] as sbyte[]) in casts.
        if (Values.GetType() == typeof(T[]))
        {
            return (T[])Values;
        }

        throw new InvalidOperationException(
            $"Tensor holds {OnnxDataTypes.Name(DataType)} values as {Values.GetType().GetElementType()!.Name}[], not {typeof(T).Name}[].");
    }

    /// <summary>A new float array with every value converted (bool becomes 0 or 1).</summary>
    public float[] ToFloatArray() => DataType switch
    {
        OnnxDataType.Float or OnnxDataType.BFloat16 => (float[])((float[])Values).Clone(),
        OnnxDataType.Double => ConvertAll<double, float>((double[])Values),
        OnnxDataType.Float16 => ConvertAll<Half, float>((Half[])Values),
        OnnxDataType.Int8 => ConvertAll<sbyte, float>((sbyte[])Values),
        OnnxDataType.UInt8 => ConvertAll<byte, float>((byte[])Values),
        OnnxDataType.Int16 => ConvertAll<short, float>((short[])Values),
        OnnxDataType.UInt16 => ConvertAll<ushort, float>((ushort[])Values),
        OnnxDataType.Int32 => ConvertAll<int, float>((int[])Values),
        OnnxDataType.UInt32 => ConvertAll<uint, float>((uint[])Values),
        OnnxDataType.Int64 => ConvertAll<long, float>((long[])Values),
        OnnxDataType.UInt64 => ConvertAll<ulong, float>((ulong[])Values),
        OnnxDataType.Bool => BoolsAs<float>((bool[])Values),
        _ => throw new InvalidOperationException($"Cannot convert {OnnxDataTypes.Name(DataType)} to float."),
    };

    /// <summary>
    /// A new long array for integer and bool tensors (shape constants, indices, axes);
    /// floating-point tensors throw because silently truncating them hides bugs.
    /// </summary>
    public long[] ToInt64Array() => DataType switch
    {
        OnnxDataType.Int64 => (long[])((long[])Values).Clone(),
        OnnxDataType.Int8 => ConvertAll<sbyte, long>((sbyte[])Values),
        OnnxDataType.UInt8 => ConvertAll<byte, long>((byte[])Values),
        OnnxDataType.Int16 => ConvertAll<short, long>((short[])Values),
        OnnxDataType.UInt16 => ConvertAll<ushort, long>((ushort[])Values),
        OnnxDataType.Int32 => ConvertAll<int, long>((int[])Values),
        OnnxDataType.UInt32 => ConvertAll<uint, long>((uint[])Values),
        OnnxDataType.UInt64 => ConvertAllChecked<ulong, long>((ulong[])Values),
        OnnxDataType.Bool => BoolsAs<long>((bool[])Values),
        _ => throw new InvalidOperationException(
            $"A {OnnxDataTypes.Name(DataType)} tensor cannot be read as int64 without losing its fractional part."),
    };

    /// <summary>Encodes the tensor as a <see cref="TensorProto"/> with raw_data (little-endian).</summary>
    public TensorProto ToProto(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var proto = new TensorProto { Name = name, DataType = (int)DataType };
        proto.Dims.AddRange(_dims);
        proto.RawData = EncodeRawData();
        return proto;
    }

    /// <summary>
    /// Decodes a <see cref="TensorProto"/>. External data is looked up relative to
    /// <paramref name="externalDataDirectory"/> (the model's directory) and must stay inside it.
    /// </summary>
    /// <exception cref="OnnxFormatException">The data does not match the declared type and dims.</exception>
    /// <exception cref="NotSupportedException">The element type has no array representation here (string, complex, 4/8-bit).</exception>
    public static TensorData FromProto(TensorProto tensor, string? externalDataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var type = (OnnxDataType)tensor.DataType;
        long[] dims = new long[tensor.Dims.Count];
        tensor.Dims.CopyTo(dims, 0);
        long count = CountElements(tensor, type, dims);
        if (type is not (OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16
            or OnnxDataType.Int8 or OnnxDataType.UInt8 or OnnxDataType.Int16 or OnnxDataType.UInt16
            or OnnxDataType.Int32 or OnnxDataType.UInt32 or OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Bool))
        {
            throw new NotSupportedException(
                $"Tensor '{tensor.Name}' has element type {OnnxDataTypes.Name(type)}, which TensorData does not support.");
        }

        Array values;
        if (ExternalTensorData.IsExternal(tensor))
        {
            values = FromBytes(tensor, type, dims, count, ExternalTensorData.Read(tensor, externalDataDirectory), "external data");
        }
        else if (!tensor.RawData.IsEmpty)
        {
            values = FromBytes(tensor, type, dims, count, tensor.RawData.Span, "raw_data");
        }
        else
        {
            values = FromTypedField(tensor, type, dims, count);
        }

        return new TensorData(type, dims, values);
    }

    public override string ToString() => $"{OnnxDataTypes.Name(DataType)} {TensorShapes.Format(_dims)}";

    private static long[] CheckDims(long valueCount, ReadOnlySpan<long> dims)
    {
        long[] copy = dims.ToArray();
        long expected;
        try
        {
            expected = TensorShapes.ElementCount(copy);
        }
        catch (OverflowException)
        {
            throw new ArgumentException($"Dims {TensorShapes.Format(copy)} hold more elements than a long can count.", nameof(dims));
        }

        if (expected != valueCount)
        {
            throw new ArgumentException(
                $"Dims {TensorShapes.Format(copy)} need {expected} values but {valueCount} were given.", nameof(dims));
        }

        return copy;
    }

    private static long CountElements(TensorProto tensor, OnnxDataType type, long[] dims)
    {
        long count;
        try
        {
            count = TensorShapes.ElementCount(dims);
        }
        catch (Exception ex) when (ex is ArgumentException or OverflowException)
        {
            throw new OnnxFormatException($"Tensor '{tensor.Name}' has invalid dims {TensorShapes.Format(dims)}.", ex);
        }

        if (count > Array.MaxLength)
        {
            throw new OnnxFormatException(
                $"Tensor '{tensor.Name}' ({OnnxDataTypes.Name(type)} {TensorShapes.Format(dims)}) has more elements than one array can hold.");
        }

        return count;
    }

    private static Array FromBytes(TensorProto tensor, OnnxDataType type, long[] dims, long count, ReadOnlySpan<byte> bytes, string source)
    {
        int elementSize = OnnxDataTypes.ElementSize(type);
        long expected = count * elementSize;
        if (bytes.Length != expected)
        {
            throw new OnnxFormatException(
                $"Tensor '{tensor.Name}' ({OnnxDataTypes.Name(type)} {TensorShapes.Format(dims)}) has {bytes.Length} bytes of {source}, "
                + $"but {count} elements of {elementSize} bytes need {expected}.");
        }

        return type switch
        {
            OnnxDataType.Float => ReadLittleEndian<float>(bytes),
            OnnxDataType.Double => ReadLittleEndian<double>(bytes),
            OnnxDataType.Float16 => ReadLittleEndian<Half>(bytes),
            OnnxDataType.Int8 => ReadLittleEndian<sbyte>(bytes),
            OnnxDataType.UInt8 => ReadLittleEndian<byte>(bytes),
            OnnxDataType.Int16 => ReadLittleEndian<short>(bytes),
            OnnxDataType.UInt16 => ReadLittleEndian<ushort>(bytes),
            OnnxDataType.Int32 => ReadLittleEndian<int>(bytes),
            OnnxDataType.UInt32 => ReadLittleEndian<uint>(bytes),
            OnnxDataType.Int64 => ReadLittleEndian<long>(bytes),
            OnnxDataType.UInt64 => ReadLittleEndian<ulong>(bytes),
            OnnxDataType.Bool => ReadBools(bytes),
            OnnxDataType.BFloat16 => ReadBFloat16(bytes),
            _ => throw new NotSupportedException($"Element type {OnnxDataTypes.Name(type)} is not supported."),
        };
    }

    private static Array FromTypedField(TensorProto tensor, OnnxDataType type, long[] dims, long count)
    {
        switch (type)
        {
            case OnnxDataType.Float:
                return CopyField(tensor.FloatData, tensor, type, dims, count, "float_data");
            case OnnxDataType.Double:
                return CopyField(tensor.DoubleData, tensor, type, dims, count, "double_data");
            case OnnxDataType.Int32:
                return CopyField(tensor.Int32Data, tensor, type, dims, count, "int32_data");
            case OnnxDataType.Int64:
                return CopyField(tensor.Int64Data, tensor, type, dims, count, "int64_data");
            case OnnxDataType.UInt64:
                return CopyField(tensor.Uint64Data, tensor, type, dims, count, "uint64_data");
            case OnnxDataType.UInt32:
            {
                var field = CheckField(tensor.Uint64Data, tensor, type, dims, count, "uint64_data");
                var values = new uint[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (uint)field[i];
                }

                return values;
            }

            default:
                return FromInt32Field(tensor, type, dims, count);
        }
    }

    // onnx.proto stores every element type narrower than 32 bits in int32_data, float16 and
    // bfloat16 as their bit patterns.
    private static Array FromInt32Field(TensorProto tensor, OnnxDataType type, long[] dims, long count)
    {
        var field = CheckField(tensor.Int32Data, tensor, type, dims, count, "int32_data");
        switch (type)
        {
            case OnnxDataType.Int8:
            {
                var values = new sbyte[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (sbyte)field[i];
                }

                return values;
            }

            case OnnxDataType.UInt8:
            {
                var values = new byte[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (byte)field[i];
                }

                return values;
            }

            case OnnxDataType.Int16:
            {
                var values = new short[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (short)field[i];
                }

                return values;
            }

            case OnnxDataType.UInt16:
            {
                var values = new ushort[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (ushort)field[i];
                }

                return values;
            }

            case OnnxDataType.Bool:
            {
                var values = new bool[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = field[i] != 0;
                }

                return values;
            }

            case OnnxDataType.Float16:
            {
                var values = new Half[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BitConverter.UInt16BitsToHalf((ushort)field[i]);
                }

                return values;
            }

            case OnnxDataType.BFloat16:
            {
                var values = new float[count];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = BFloat16Bits.ToSingle((ushort)field[i]);
                }

                return values;
            }

            default:
                throw new NotSupportedException($"Element type {OnnxDataTypes.Name(type)} is not supported.");
        }
    }

    private static T[] CopyField<T>(RepeatedField<T> field, TensorProto tensor, OnnxDataType type, long[] dims, long count, string fieldName)
    {
        CheckField(field, tensor, type, dims, count, fieldName);
        var values = new T[count];
        field.CopyTo(values, 0);
        return values;
    }

    private static RepeatedField<T> CheckField<T>(RepeatedField<T> field, TensorProto tensor, OnnxDataType type, long[] dims, long count, string fieldName)
    {
        if (field.Count != count)
        {
            string found = field.Count == 0 ? "no data (neither raw_data nor " + fieldName + ")" : $"{field.Count} values in {fieldName}";
            throw new OnnxFormatException(
                $"Tensor '{tensor.Name}' ({OnnxDataTypes.Name(type)} {TensorShapes.Format(dims)}) has {found}, but its dims need {count}.");
        }

        return field;
    }

    private static T[] ReadLittleEndian<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged
    {
        var values = new T[bytes.Length / Unsafe.SizeOf<T>()];
        Span<byte> target = MemoryMarshal.AsBytes(values.AsSpan());
        bytes.CopyTo(target);
        if (!BitConverter.IsLittleEndian)
        {
            ReverseElementBytes(target, Unsafe.SizeOf<T>());
        }

        return values;
    }

    private static bool[] ReadBools(ReadOnlySpan<byte> bytes)
    {
        var values = new bool[bytes.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = bytes[i] != 0;
        }

        return values;
    }

    private static float[] ReadBFloat16(ReadOnlySpan<byte> bytes)
    {
        var values = new float[bytes.Length / 2];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BFloat16Bits.ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2 * i, 2)));
        }

        return values;
    }

    private ByteString EncodeRawData()
    {
        switch (DataType)
        {
            case OnnxDataType.BFloat16:
            {
                var values = (float[])Values;
                var bytes = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++)
                {
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i, 2), BFloat16Bits.FromSingle(values[i]));
                }

                return UnsafeByteOperations.UnsafeWrap(bytes);
            }

            case OnnxDataType.Bool:
            {
                var values = (bool[])Values;
                var bytes = new byte[values.Length];
                for (int i = 0; i < values.Length; i++)
                {
                    bytes[i] = values[i] ? (byte)1 : (byte)0;
                }

                return UnsafeByteOperations.UnsafeWrap(bytes);
            }

            case OnnxDataType.Float: return LittleEndianBytes((float[])Values);
            case OnnxDataType.Double: return LittleEndianBytes((double[])Values);
            case OnnxDataType.Float16: return LittleEndianBytes((Half[])Values);
            case OnnxDataType.Int8: return LittleEndianBytes((sbyte[])Values);
            case OnnxDataType.UInt8: return LittleEndianBytes((byte[])Values);
            case OnnxDataType.Int16: return LittleEndianBytes((short[])Values);
            case OnnxDataType.UInt16: return LittleEndianBytes((ushort[])Values);
            case OnnxDataType.Int32: return LittleEndianBytes((int[])Values);
            case OnnxDataType.UInt32: return LittleEndianBytes((uint[])Values);
            case OnnxDataType.Int64: return LittleEndianBytes((long[])Values);
            case OnnxDataType.UInt64: return LittleEndianBytes((ulong[])Values);
            default:
                throw new InvalidOperationException($"Cannot encode {OnnxDataTypes.Name(DataType)} tensors.");
        }
    }

    private static ByteString LittleEndianBytes<T>(T[] values)
        where T : unmanaged
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (BitConverter.IsLittleEndian)
        {
            return ByteString.CopyFrom(bytes);
        }

        byte[] copy = bytes.ToArray();
        ReverseElementBytes(copy, Unsafe.SizeOf<T>());
        return UnsafeByteOperations.UnsafeWrap(copy);
    }

    private static void ReverseElementBytes(Span<byte> bytes, int elementSize)
    {
        switch (elementSize)
        {
            case 2:
                var halves = MemoryMarshal.Cast<byte, ushort>(bytes);
                BinaryPrimitives.ReverseEndianness(halves, halves);
                break;
            case 4:
                var words = MemoryMarshal.Cast<byte, uint>(bytes);
                BinaryPrimitives.ReverseEndianness(words, words);
                break;
            case 8:
                var longs = MemoryMarshal.Cast<byte, ulong>(bytes);
                BinaryPrimitives.ReverseEndianness(longs, longs);
                break;
        }
    }

    private static TTo[] ConvertAll<TFrom, TTo>(TFrom[] source)
        where TFrom : INumberBase<TFrom>
        where TTo : INumberBase<TTo>
    {
        var result = new TTo[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            result[i] = TTo.CreateTruncating(source[i]);
        }

        return result;
    }

    private static TTo[] ConvertAllChecked<TFrom, TTo>(TFrom[] source)
        where TFrom : INumberBase<TFrom>
        where TTo : INumberBase<TTo>
    {
        var result = new TTo[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            result[i] = TTo.CreateChecked(source[i]);
        }

        return result;
    }

    private static T[] BoolsAs<T>(bool[] source)
        where T : INumberBase<T>
    {
        var result = new T[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            result[i] = source[i] ? T.One : T.Zero;
        }

        return result;
    }
}
