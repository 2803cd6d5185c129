using System.Numerics;

namespace EdgeRuntime.Data.Tests;

/// <summary>Deterministic arrays whose element i has a value every dtype can represent exactly.</summary>
internal static class TestArrays
{
    public static double ExpectedValue(DataElementType type, long index) => type switch
    {
        DataElementType.Float16 or DataElementType.Float32 or DataElementType.Float64 => index % 64 * 0.5 - 3,
        DataElementType.Int8 or DataElementType.Int16 or DataElementType.Int32 or DataElementType.Int64 => index % 100 - 50,
        DataElementType.Bool => index % 3 == 0 ? 1 : 0,
        _ => index % 200,
    };

    public static NpyArray Sequence(DataElementType type, params long[] shape)
    {
        var array = NpyArray.Zeros(type, shape);
        switch (type)
        {
            case DataElementType.Float32: Fill(array.AsSpan<float>(), type); break;
            case DataElementType.Float64: Fill(array.AsSpan<double>(), type); break;
            case DataElementType.Float16: Fill(array.AsSpan<Half>(), type); break;
            case DataElementType.Int8: Fill(array.AsSpan<sbyte>(), type); break;
            case DataElementType.UInt8: Fill(array.AsSpan<byte>(), type); break;
            case DataElementType.Int16: Fill(array.AsSpan<short>(), type); break;
            case DataElementType.UInt16: Fill(array.AsSpan<ushort>(), type); break;
            case DataElementType.Int32: Fill(array.AsSpan<int>(), type); break;
            case DataElementType.UInt32: Fill(array.AsSpan<uint>(), type); break;
            case DataElementType.Int64: Fill(array.AsSpan<long>(), type); break;
            case DataElementType.UInt64: Fill(array.AsSpan<ulong>(), type); break;
            case DataElementType.Bool:
                var flags = array.AsSpan<bool>();
                for (int i = 0; i < flags.Length; i++)
                {
                    flags[i] = ExpectedValue(type, i) != 0;
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type));
        }
        return array;
    }

    public static float[] ExpectedFloats(DataElementType type, long count) =>
        Enumerable.Range(0, checked((int)count)).Select(i => (float)ExpectedValue(type, i)).ToArray();

    private static void Fill<T>(Span<T> values, DataElementType type) where T : INumberBase<T>
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = T.CreateTruncating(ExpectedValue(type, i));
        }
    }
}
