namespace EdgeRuntime.Onnx;

/// <summary>Facts about <see cref="OnnxDataType"/> values: sizes, names, matching CLR types.</summary>
public static class OnnxDataTypes
{
    /// <summary>
    /// Bytes one element takes in raw_data, or 0 when elements are not whole bytes
    /// (4-bit types), have no fixed size (string) or the type is unknown.
    /// </summary>
    public static int ElementSize(OnnxDataType type) => type switch
    {
        OnnxDataType.Bool or OnnxDataType.Int8 or OnnxDataType.UInt8 => 1,
        OnnxDataType.Float8E4M3FN or OnnxDataType.Float8E4M3FNUZ => 1,
        OnnxDataType.Float8E5M2 or OnnxDataType.Float8E5M2FNUZ => 1,
        OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
        OnnxDataType.Int32 or OnnxDataType.UInt32 or OnnxDataType.Float => 4,
        OnnxDataType.Int64 or OnnxDataType.UInt64 or OnnxDataType.Double or OnnxDataType.Complex64 => 8,
        OnnxDataType.Complex128 => 16,
        _ => 0,
    };

    /// <summary>
    /// Bytes that <paramref name="elementCount"/> elements take in raw_data, including the
    /// packed 4-bit types; null for string and unknown types.
    /// </summary>
    public static long? ByteSize(OnnxDataType type, long elementCount)
    {
        if (type is OnnxDataType.Int4 or OnnxDataType.UInt4 or OnnxDataType.Float4E2M1)
        {
            return (elementCount + 1) / 2;
        }

        int size = ElementSize(type);
        return size == 0 ? null : checked(elementCount * size);
    }

    /// <summary>The lower-case name onnx uses in its own messages, e.g. "float16".</summary>
    public static string Name(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => "float",
        OnnxDataType.UInt8 => "uint8",
        OnnxDataType.Int8 => "int8",
        OnnxDataType.UInt16 => "uint16",
        OnnxDataType.Int16 => "int16",
        OnnxDataType.Int32 => "int32",
        OnnxDataType.Int64 => "int64",
        OnnxDataType.String => "string",
        OnnxDataType.Bool => "bool",
        OnnxDataType.Float16 => "float16",
        OnnxDataType.Double => "double",
        OnnxDataType.UInt32 => "uint32",
        OnnxDataType.UInt64 => "uint64",
        OnnxDataType.Complex64 => "complex64",
        OnnxDataType.Complex128 => "complex128",
        OnnxDataType.BFloat16 => "bfloat16",
        OnnxDataType.Float8E4M3FN => "float8e4m3fn",
        OnnxDataType.Float8E4M3FNUZ => "float8e4m3fnuz",
        OnnxDataType.Float8E5M2 => "float8e5m2",
        OnnxDataType.Float8E5M2FNUZ => "float8e5m2fnuz",
        OnnxDataType.UInt4 => "uint4",
        OnnxDataType.Int4 => "int4",
        OnnxDataType.Float4E2M1 => "float4e2m1",
        OnnxDataType.Undefined => "undefined",
        _ => $"type {(int)type}",
    };

    public static bool IsFloatingPoint(OnnxDataType type) =>
        type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16;

    public static bool IsInteger(OnnxDataType type) => type is OnnxDataType.Int8 or OnnxDataType.UInt8
        or OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Int32 or OnnxDataType.UInt32
        or OnnxDataType.Int64 or OnnxDataType.UInt64;

    /// <summary>
    /// The ONNX type stored by an array of <typeparamref name="T"/> in <see cref="TensorData"/>.
    /// bfloat16 has no CLR type, so float maps to <see cref="OnnxDataType.Float"/>.
    /// </summary>
    public static OnnxDataType FromClrType<T>() => FromClrType(typeof(T));

    public static OnnxDataType FromClrType(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Type.GetTypeCode(type) switch
        {
            TypeCode.Single => OnnxDataType.Float,
            TypeCode.Double => OnnxDataType.Double,
            TypeCode.SByte => OnnxDataType.Int8,
            TypeCode.Byte => OnnxDataType.UInt8,
            TypeCode.Int16 => OnnxDataType.Int16,
            TypeCode.UInt16 => OnnxDataType.UInt16,
            TypeCode.Int32 => OnnxDataType.Int32,
            TypeCode.UInt32 => OnnxDataType.UInt32,
            TypeCode.Int64 => OnnxDataType.Int64,
            TypeCode.UInt64 => OnnxDataType.UInt64,
            TypeCode.Boolean => OnnxDataType.Bool,
            _ when type == typeof(Half) => OnnxDataType.Float16,
            _ => throw new ArgumentException($"No ONNX tensor type is stored as {type.Name}.", nameof(type)),
        };
    }

    /// <summary>The array element type <see cref="TensorData"/> uses for an ONNX type.</summary>
    public static Type ClrType(OnnxDataType type) => type switch
    {
        OnnxDataType.Float or OnnxDataType.BFloat16 => typeof(float),
        OnnxDataType.Double => typeof(double),
        OnnxDataType.Float16 => typeof(Half),
        OnnxDataType.Int8 => typeof(sbyte),
        OnnxDataType.UInt8 => typeof(byte),
        OnnxDataType.Int16 => typeof(short),
        OnnxDataType.UInt16 => typeof(ushort),
        OnnxDataType.Int32 => typeof(int),
        OnnxDataType.UInt32 => typeof(uint),
        OnnxDataType.Int64 => typeof(long),
        OnnxDataType.UInt64 => typeof(ulong),
        OnnxDataType.Bool => typeof(bool),
        _ => throw new NotSupportedException($"Tensors of type {Name(type)} are not supported."),
    };
}
