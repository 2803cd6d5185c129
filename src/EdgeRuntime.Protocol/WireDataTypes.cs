namespace EdgeRuntime.Protocol;

/// <summary>Element type names used on the wire, and their sizes. Strings are not carried.</summary>
public static class WireDataTypes
{
    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["float32"] = 4, ["float64"] = 8, ["float16"] = 2, ["bfloat16"] = 2,
        ["int8"] = 1, ["uint8"] = 1, ["int16"] = 2, ["uint16"] = 2,
        ["int32"] = 4, ["uint32"] = 4, ["int64"] = 8, ["uint64"] = 8, ["bool"] = 1,
    };

    public static IReadOnlyCollection<string> Names => Sizes.Keys;

    /// <summary>Bytes per element, or false when the name is not a wire element type.</summary>
    public static bool TryGetSize(string name, out int size) => Sizes.TryGetValue(name, out size);

    public static string NameOf<T>() where T : unmanaged => typeof(T) switch
    {
        var t when t == typeof(float) => "float32",
        var t when t == typeof(double) => "float64",
        var t when t == typeof(Half) => "float16",
        var t when t == typeof(sbyte) => "int8",
        var t when t == typeof(byte) => "uint8",
        var t when t == typeof(short) => "int16",
        var t when t == typeof(ushort) => "uint16",
        var t when t == typeof(int) => "int32",
        var t when t == typeof(uint) => "uint32",
        var t when t == typeof(long) => "int64",
        var t when t == typeof(ulong) => "uint64",
        var t when t == typeof(bool) => "bool",
        _ => throw new NotSupportedException($"no wire element type for {typeof(T).Name}"),
    };
}
