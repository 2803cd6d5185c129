namespace EdgeRuntime.Data;

/// <summary>Sizes, names and CLR counterparts of <see cref="DataElementType"/> values.</summary>
public static class DataElementTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(this DataElementType type) => type switch
    {
        DataElementType.Float64 or DataElementType.Int64 or DataElementType.UInt64 => 8,
        DataElementType.Float32 or DataElementType.Int32 or DataElementType.UInt32 => 4,
        DataElementType.Float16 or DataElementType.Int16 or DataElementType.UInt16 => 2,
        DataElementType.Int8 or DataElementType.UInt8 or DataElementType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The NumPy-style lower-case name ("float32", "uint8", "bool", ...).</summary>
    public static string ToName(this DataElementType type) => type switch
    {
        DataElementType.Float32 => "float32",
        DataElementType.Float64 => "float64",
        DataElementType.Float16 => "float16",
        DataElementType.Int8 => "int8",
        DataElementType.UInt8 => "uint8",
        DataElementType.Int16 => "int16",
        DataElementType.UInt16 => "uint16",
        DataElementType.Int32 => "int32",
        DataElementType.Int64 => "int64",
        DataElementType.UInt32 => "uint32",
        DataElementType.UInt64 => "uint64",
        DataElementType.Bool => "bool",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    public static bool IsInteger(this DataElementType type) => type is
        DataElementType.Int8 or DataElementType.UInt8 or DataElementType.Int16 or DataElementType.UInt16 or
        DataElementType.Int32 or DataElementType.UInt32 or DataElementType.Int64 or DataElementType.UInt64;

    public static bool IsFloatingPoint(this DataElementType type) => type is
        DataElementType.Float16 or DataElementType.Float32 or DataElementType.Float64;

    /// <summary>The CLR type whose values have this element type's layout.</summary>
    public static Type ToClrType(this DataElementType type) => type switch
    {
        DataElementType.Float32 => typeof(float),
        DataElementType.Float64 => typeof(double),
        DataElementType.Float16 => typeof(Half),
        DataElementType.Int8 => typeof(sbyte),
        DataElementType.UInt8 => typeof(byte),
        DataElementType.Int16 => typeof(short),
        DataElementType.UInt16 => typeof(ushort),
        DataElementType.Int32 => typeof(int),
        DataElementType.Int64 => typeof(long),
        DataElementType.UInt32 => typeof(uint),
        DataElementType.UInt64 => typeof(ulong),
        DataElementType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The element type stored by values of <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> has no element type.</exception>
    public static DataElementType Of<T>() where T : unmanaged
    {
        if (TryGetElementType(typeof(T), out var type))
        {
            return type;
        }
        throw new NotSupportedException(
            $"{typeof(T).Name} is not a supported element type; use float, double, Half, sbyte, byte, short, ushort, int, uint, long, ulong or bool");
    }

    public static bool TryGetElementType(Type clrType, out DataElementType type)
    {
        ArgumentNullException.ThrowIfNull(clrType);
        foreach (var candidate in Enum.GetValues<DataElementType>())
        {
            if (candidate.ToClrType() == clrType)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }
}
