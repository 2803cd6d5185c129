using System.Runtime.InteropServices;
using MessagePack;

namespace EdgeRuntime.Protocol;

/// <summary>
/// A dense tensor on the wire: name, element type by name ("float32", ...), shape, and little-endian element bytes.
/// When decoded from a frame, <see cref="Data"/> is a slice of the frame buffer, not a copy.
/// </summary>
[MessagePackFormatter(typeof(WireTensorFormatter))]
public sealed class WireTensor(string name, string dataType, long[] shape, ReadOnlyMemory<byte> data)
{
    public string Name { get; } = name;
    public string DataType { get; } = dataType;
    public long[] Shape { get; } = shape;
    public ReadOnlyMemory<byte> Data { get; } = data;

    /// <summary>Copies typed values into a tensor (the one copy an app pays to hand data to the socket).</summary>
    public static WireTensor FromArray<T>(string name, T[] values, params long[] shape) where T : unmanaged =>
        new(name, WireDataTypes.NameOf<T>(), shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>The elements as a typed array; the element type must match.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        string expected = WireDataTypes.NameOf<T>();
        if (expected != DataType)
        {
            throw new InvalidOperationException($"tensor '{Name}' holds {DataType}, not {expected}");
        }
        return MemoryMarshal.Cast<byte, T>(Data.Span).ToArray();
    }

    public override string ToString() => $"{Name}: {DataType}[{string.Join(",", Shape)}]";
}
