using Onnx;

namespace EdgeRuntime.Onnx.Tests.Support;

/// <summary>One sample tensor per supported element type, including each type's extreme values.</summary>
internal static class TensorSamples
{
    public static readonly OnnxDataType[] SupportedTypes =
    [
        OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Float16, OnnxDataType.BFloat16,
        OnnxDataType.Int8, OnnxDataType.UInt8, OnnxDataType.Int16, OnnxDataType.UInt16,
        OnnxDataType.Int32, OnnxDataType.UInt32, OnnxDataType.Int64, OnnxDataType.UInt64, OnnxDataType.Bool,
    ];

    public static TheoryData<OnnxDataType> Types => [.. SupportedTypes];

    public static TensorData Sample(OnnxDataType type) => type switch
    {
        OnnxDataType.Float => TensorData.Create([0f, -1.5f, float.MaxValue, float.Epsilon, float.NaN, float.PositiveInfinity], 2, 3),
        OnnxDataType.Double => TensorData.Create([0d, -1.25d, double.MaxValue, double.Epsilon], 2, 2),
        OnnxDataType.Float16 => TensorData.Create([(Half)0, (Half)1, (Half)(-2.5f), Half.MaxValue, Half.Epsilon, Half.NegativeInfinity], 3, 2),
        OnnxDataType.BFloat16 => TensorData.CreateBFloat16([1f, -2f, 0.5f, 3.140625f, 65536f, float.NegativeInfinity], 6),
        OnnxDataType.Int8 => TensorData.Create(new sbyte[] { sbyte.MinValue, -1, 0, sbyte.MaxValue }, 4),
        OnnxDataType.UInt8 => TensorData.Create(new byte[] { 0, 7, byte.MaxValue }, 3),
        OnnxDataType.Int16 => TensorData.Create(new short[] { short.MinValue, -1, short.MaxValue }, 3, 1),
        OnnxDataType.UInt16 => TensorData.Create(new ushort[] { 0, 1234, ushort.MaxValue }, 1, 3),
        OnnxDataType.Int32 => TensorData.Create([int.MinValue, -1, 0x01020304, int.MaxValue], 4),
        OnnxDataType.UInt32 => TensorData.Create([0u, 3_000_000_000u, uint.MaxValue], 3),
        OnnxDataType.Int64 => TensorData.Create([long.MinValue, -1L, long.MaxValue], 3),
        OnnxDataType.UInt64 => TensorData.Create([0UL, 1UL << 63, ulong.MaxValue], 3),
        OnnxDataType.Bool => TensorData.Create([true, false, true, true], 2, 2),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The same tensor as <see cref="Sample"/>, stored in the typed repeated field onnx.proto assigns to its type.</summary>
    public static TensorProto TypedFieldProto(OnnxDataType type)
    {
        var sample = Sample(type);
        var proto = new TensorProto { Name = "typed", DataType = (int)type };
        proto.Dims.AddRange(sample.Dims);
        switch (type)
        {
            case OnnxDataType.BFloat16:
                proto.Int32Data.AddRange(sample.GetValues<float>().Select(value => (int)BFloat16Bits.FromSingle(value)));
                break;
            case OnnxDataType.Float:
                proto.FloatData.AddRange(sample.GetValues<float>());
                break;
            case OnnxDataType.Double:
                proto.DoubleData.AddRange(sample.GetValues<double>());
                break;
            case OnnxDataType.Float16:
                proto.Int32Data.AddRange(sample.GetValues<Half>().Select(value => (int)BitConverter.HalfToUInt16Bits(value)));
                break;
            case OnnxDataType.Int8:
                proto.Int32Data.AddRange(sample.GetValues<sbyte>().Select(value => (int)value));
                break;
            case OnnxDataType.UInt8:
                proto.Int32Data.AddRange(sample.GetValues<byte>().Select(value => (int)value));
                break;
            case OnnxDataType.Int16:
                proto.Int32Data.AddRange(sample.GetValues<short>().Select(value => (int)value));
                break;
            case OnnxDataType.UInt16:
                proto.Int32Data.AddRange(sample.GetValues<ushort>().Select(value => (int)value));
                break;
            case OnnxDataType.Bool:
                proto.Int32Data.AddRange(sample.GetValues<bool>().Select(value => value ? 1 : 0));
                break;
            case OnnxDataType.Int32:
                proto.Int32Data.AddRange(sample.GetValues<int>());
                break;
            case OnnxDataType.UInt32:
                proto.Uint64Data.AddRange(sample.GetValues<uint>().Select(value => (ulong)value));
                break;
            case OnnxDataType.Int64:
                proto.Int64Data.AddRange(sample.GetValues<long>());
                break;
            case OnnxDataType.UInt64:
                proto.Uint64Data.AddRange(sample.GetValues<ulong>());
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }

        return proto;
    }

    public static void AssertSameValues(Array expected, Array actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Equals(expected.GetValue(i), actual.GetValue(i)), $"element {i}: expected {expected.GetValue(i)}, got {actual.GetValue(i)}");
        }
    }
}
