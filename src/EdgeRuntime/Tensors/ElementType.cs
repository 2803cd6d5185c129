namespace EdgeRuntime.Tensors;

/// <summary>Element types a tensor can carry across our APIs, bundles and wire formats.</summary>
/// <remarks>Values match ONNX's TensorProto.DataType so they can be stored and sent as numbers.</remarks>
public enum ElementType
{
    Float32 = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Float64 = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}

public static class ElementTypes
{
    /// <summary>Bytes per element; 0 for strings, which have no fixed size.</summary>
    public static int SizeOf(this ElementType type) => type switch
    {
        ElementType.Float32 or ElementType.Int32 or ElementType.UInt32 => 4,
        ElementType.Float64 or ElementType.Int64 or ElementType.UInt64 => 8,
        ElementType.Float16 or ElementType.BFloat16 or ElementType.Int16 or ElementType.UInt16 => 2,
        ElementType.Int8 or ElementType.UInt8 or ElementType.Bool => 1,
        ElementType.String => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The lower-case name used in manifests and on the wire ("float32", "int8", ...).</summary>
    public static string ToName(this ElementType type) => type switch
    {
        ElementType.Float32 => "float32",
        ElementType.Float64 => "float64",
        ElementType.Float16 => "float16",
        ElementType.BFloat16 => "bfloat16",
        ElementType.Int8 => "int8",
        ElementType.UInt8 => "uint8",
        ElementType.Int16 => "int16",
        ElementType.UInt16 => "uint16",
        ElementType.Int32 => "int32",
        ElementType.UInt32 => "uint32",
        ElementType.Int64 => "int64",
        ElementType.UInt64 => "uint64",
        ElementType.Bool => "bool",
        ElementType.String => "string",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    public static bool TryParse(string? name, out ElementType type)
    {
        foreach (var candidate in Enum.GetValues<ElementType>())
        {
            if (string.Equals(candidate.ToName(), name, StringComparison.OrdinalIgnoreCase))
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    public static ElementType Parse(string name) =>
        TryParse(name, out var type)
            ? type
            : throw new FormatException($"unknown element type '{name}'; expected one of {string.Join(", ", Enum.GetValues<ElementType>().Select(t => t.ToName()))}");
}
