using System.Runtime.InteropServices;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Feeding;

/// <summary>Writes float32 sample values as the element type a model input declares.</summary>
public static class TensorConversion
{
    public static void FromFloat32(ReadOnlySpan<float> source, ElementType target, Span<byte> destination)
    {
        switch (target)
        {
            case ElementType.Float32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case ElementType.Float64:
                Convert(source, MemoryMarshal.Cast<byte, double>(destination), v => v);
                break;
            case ElementType.Float16:
                Convert(source, MemoryMarshal.Cast<byte, Half>(destination), v => (Half)v);
                break;
            case ElementType.Int8:
                Convert(source, MemoryMarshal.Cast<byte, sbyte>(destination), v => (sbyte)Exact(v, sbyte.MinValue, sbyte.MaxValue));
                break;
            case ElementType.UInt8:
                Convert(source, destination, v => (byte)Exact(v, byte.MinValue, byte.MaxValue));
                break;
            case ElementType.Int16:
                Convert(source, MemoryMarshal.Cast<byte, short>(destination), v => (short)Exact(v, short.MinValue, short.MaxValue));
                break;
            case ElementType.UInt16:
                Convert(source, MemoryMarshal.Cast<byte, ushort>(destination), v => (ushort)Exact(v, ushort.MinValue, ushort.MaxValue));
                break;
            case ElementType.Int32:
                Convert(source, MemoryMarshal.Cast<byte, int>(destination), v => (int)Exact(v, int.MinValue, int.MaxValue));
                break;
            case ElementType.Int64:
                Convert(source, MemoryMarshal.Cast<byte, long>(destination), v => (long)Exact(v, long.MinValue, long.MaxValue));
                break;
            case ElementType.Bool:
                Convert(source, destination, v => v != 0 ? (byte)1 : (byte)0);
                break;
            default:
                throw new NotSupportedException($"cannot feed float data to a {target.ToName()} input");
        }
    }

    private static void Convert<T>(ReadOnlySpan<float> source, Span<T> destination, Func<float, T> convert)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = convert(source[i]);
        }
    }

    /// <summary>Integer inputs (class ids, token ids) must arrive as whole numbers in range; rounding would hide a data bug.</summary>
    private static double Exact(float value, double min, double max) =>
        value == MathF.Floor(value) && value >= min && value <= max
            ? value
            : throw new InvalidDataException($"value {value} cannot be fed to an integer input exactly");
}
