using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Tensors;

/// <summary>
/// Finds NaN and ±Inf in floating-point inputs. A model fed one answers NaN without complaint, so the daemon
/// refuses such inputs unless the model or the request allows them.
/// </summary>
public static class NonFiniteValues
{
    /// <summary>The first non-finite element of a float tensor (flat index and value), or null when all are finite or the type is not floating-point.</summary>
    public static (long Index, double Value)? First(ElementType type, ReadOnlySpan<byte> data)
    {
        switch (type)
        {
            case ElementType.Float32:
            {
                var values = MemoryMarshal.Cast<byte, float>(data[..(data.Length / 4 * 4)]);
                // x - x is 0 for finite x and NaN for NaN and ±Inf; a vectorised sum finds "none" quickly.
                int i = 0;
                var bad = System.Numerics.Vector<float>.Zero;
                int width = System.Numerics.Vector<float>.Count;
                for (; i + width <= values.Length; i += width)
                {
                    var v = new System.Numerics.Vector<float>(values.Slice(i, width));
                    bad += v - v;
                }
                if (float.IsFinite(System.Numerics.Vector.Sum(bad)))
                {
                    for (; i < values.Length; i++)
                    {
                        if (!float.IsFinite(values[i]))
                        {
                            return (i, values[i]);
                        }
                    }
                    return null;
                }
                for (int j = 0; j < values.Length; j++)
                {
                    if (!float.IsFinite(values[j]))
                    {
                        return (j, values[j]);
                    }
                }
                return null;
            }
            case ElementType.Float64:
            {
                var values = MemoryMarshal.Cast<byte, double>(data[..(data.Length / 8 * 8)]);
                for (int j = 0; j < values.Length; j++)
                {
                    if (!double.IsFinite(values[j]))
                    {
                        return (j, values[j]);
                    }
                }
                return null;
            }
            case ElementType.Float16:
            case ElementType.BFloat16:
            {
                // Both keep the exponent in the bits under the sign: all ones means NaN or Inf.
                ushort exponentMask = type == ElementType.Float16 ? (ushort)0x7C00 : (ushort)0x7F80;
                for (int j = 0; j + 1 < data.Length; j += 2)
                {
                    ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(data[j..]);
                    if ((bits & exponentMask) == exponentMask)
                    {
                        double value = type == ElementType.Float16 ? (double)BitConverter.UInt16BitsToHalf(bits) : BitConverter.Int32BitsToSingle(bits << 16);
                        return (j / 2, value);
                    }
                }
                return null;
            }
            default:
                return null;
        }
    }
}
