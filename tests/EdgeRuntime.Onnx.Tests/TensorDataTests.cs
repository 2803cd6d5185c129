using EdgeRuntime.Onnx.Tests.Support;
using Google.Protobuf;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class TensorDataTests
{
    public static TheoryData<OnnxDataType> Types => TensorSamples.Types;

    [Theory]
    [MemberData(nameof(Types))]
    public void Raw_data_round_trips_every_type(OnnxDataType type)
    {
        var sample = TensorSamples.Sample(type);

        var proto = sample.ToProto("t");
        var decoded = TensorData.FromProto(proto);

        Assert.Equal((int)type, proto.DataType);
        Assert.Equal(sample.ElementCount * OnnxDataTypes.ElementSize(type), proto.RawData.Length);
        Assert.Empty(proto.FloatData);
        Assert.Empty(proto.Int32Data);
        Assert.Equal(type, decoded.DataType);
        Assert.Equal(sample.Dims, decoded.Dims);
        TensorSamples.AssertSameValues(sample.Values, decoded.Values);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Typed_fields_decode_to_the_same_values_as_raw_data(OnnxDataType type)
    {
        var sample = TensorSamples.Sample(type);

        var fromTypedField = TensorData.FromProto(TensorSamples.TypedFieldProto(type));

        Assert.Equal(sample.Dims, fromTypedField.Dims);
        TensorSamples.AssertSameValues(sample.Values, fromTypedField.Values);
        Assert.Equal(sample.ToProto("x").RawData, fromTypedField.ToProto("x").RawData);
    }

    [Fact]
    public void Raw_data_is_little_endian()
    {
        var proto = TensorData.Create([0x01020304], 1).ToProto("t");
        var half = TensorData.Create([(Half)1], 1).ToProto("h");
        var bfloat = TensorData.CreateBFloat16([1f], 1).ToProto("b");

        Assert.Equal(new byte[] { 4, 3, 2, 1 }, proto.RawData.ToByteArray());
        Assert.Equal(new byte[] { 0x00, 0x3C }, half.RawData.ToByteArray());
        Assert.Equal(new byte[] { 0x80, 0x3F }, bfloat.RawData.ToByteArray());
    }

    [Fact]
    public void Bfloat16_rounds_to_nearest_even_and_keeps_nan()
    {
        float halfwayDown = 1f + MathF.Pow(2, -8);      // exactly between 1 and the next bfloat16; even is 1
        float halfwayUp = 1f + (3 * MathF.Pow(2, -8));  // between 1+2^-7 and 1+2^-6; even is 1+2^-6
        var decoded = TensorData.FromProto(TensorData.CreateBFloat16([halfwayDown, halfwayUp, float.NaN], 3).ToProto("b"));

        float[] values = decoded.GetValues<float>();
        Assert.Equal(1f, values[0]);
        Assert.Equal(1f + MathF.Pow(2, -6), values[1]);
        Assert.True(float.IsNaN(values[2]));
    }

    [Fact]
    public void Scalars_and_empty_tensors_round_trip()
    {
        var scalar = TensorData.FromProto(TensorData.Scalar(42L).ToProto("s"));
        var empty = TensorData.FromProto(TensorData.Create(Array.Empty<float>(), 0, 4).ToProto("e"));

        Assert.Empty(scalar.Dims);
        Assert.Equal([42L], scalar.GetValues<long>());
        Assert.Equal([0L, 4L], empty.Dims);
        Assert.Empty(empty.GetValues<float>());
    }

    [Fact]
    public void Raw_data_of_the_wrong_size_names_tensor_and_sizes()
    {
        var proto = new TensorProto { Name = "conv.weight", DataType = (int)OnnxDataType.Float, RawData = ByteString.CopyFrom(new byte[10]) };
        proto.Dims.AddRange([2, 3]);

        var error = Assert.Throws<OnnxFormatException>(() => TensorData.FromProto(proto));

        Assert.Contains("conv.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("10 bytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("need 24", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Typed_field_of_the_wrong_length_names_the_field()
    {
        var proto = new TensorProto { Name = "ids", DataType = (int)OnnxDataType.Int64 };
        proto.Dims.Add(3);
        proto.Int64Data.AddRange([1, 2]);

        var error = Assert.Throws<OnnxFormatException>(() => TensorData.FromProto(proto));

        Assert.Contains("2 values in int64_data", error.Message, StringComparison.Ordinal);
        Assert.Contains("need 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tensor_without_any_data_says_so()
    {
        var proto = new TensorProto { Name = "w", DataType = (int)OnnxDataType.Float };
        proto.Dims.Add(4);

        var error = Assert.Throws<OnnxFormatException>(() => TensorData.FromProto(proto));

        Assert.Contains("no data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Creating_with_mismatched_dims_throws()
    {
        var error = Assert.Throws<ArgumentException>(() => TensorData.Create(new float[5], 2, 3));

        Assert.Contains("need 6 values but 5", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_element_types_are_refused_by_name()
    {
        var proto = new TensorProto { Name = "labels", DataType = (int)OnnxDataType.String };
        proto.StringData.Add(ByteString.CopyFromUtf8("cat"));
        proto.Dims.Add(1);

        var error = Assert.Throws<NotSupportedException>(() => TensorData.FromProto(proto));

        Assert.Contains("labels", error.Message, StringComparison.Ordinal);
        Assert.Contains("string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conversions_to_float_and_int64()
    {
        var bytes = TensorData.Create(new byte[] { 0, 128, 255 }, 3);
        var halves = TensorData.Create([(Half)1.5f, (Half)(-2f)], 2);
        var flags = TensorData.Create([true, false], 2);

        Assert.Equal([0f, 128f, 255f], bytes.ToFloatArray());
        Assert.Equal([1.5f, -2f], halves.ToFloatArray());
        Assert.Equal([1L, 0L], flags.ToInt64Array());
        Assert.Equal([0L, 128L, 255L], bytes.ToInt64Array());
        Assert.Throws<InvalidOperationException>(() => halves.ToInt64Array());
        Assert.Throws<InvalidOperationException>(() => bytes.GetValues<float>());
    }

    [Fact]
    public void Arrays_the_clr_would_reinterpret_are_kept_apart()
    {
        var unsigned = TensorData.Create([ulong.MaxValue], 1);
        object disguised = new ulong[] { 1 };

        Assert.Throws<InvalidOperationException>(() => unsigned.GetValues<long>());
        Assert.Throws<OverflowException>(() => unsigned.ToInt64Array());
        Assert.Throws<ArgumentException>(() => TensorData.Create((long[])disguised, 1));
    }

    [Fact]
    public void WithDims_shares_values_and_checks_the_count()
    {
        var tensor = TensorData.Create(new float[6], 2, 3);

        var reshaped = tensor.WithDims(3, 2);
        reshaped.GetValues<float>()[0] = 9f;

        Assert.Equal(9f, tensor.GetValues<float>()[0]);
        Assert.Throws<ArgumentException>(() => tensor.WithDims(4, 2));
    }

    [Fact]
    public void Shape_helpers_count_and_format()
    {
        Assert.Equal(1, TensorShapes.ElementCount([]));
        Assert.Equal(24, TensorShapes.ElementCount([2, 3, 4]));
        Assert.Equal(0, TensorShapes.ElementCount([2, 0, 4]));
        Assert.Equal("[1,16,28,28]", TensorShapes.Format([1, 16, 28, 28]));
        Assert.Equal(3, TensorShapes.NormalizeAxis(-1, 4));
        Assert.Throws<ArgumentException>(() => TensorShapes.ElementCount([2, -1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TensorShapes.NormalizeAxis(4, 4));
        Assert.Equal(18, OnnxDataTypes.ByteSize(OnnxDataType.Int4, 35));
        Assert.Equal(OnnxDataType.Float16, OnnxDataTypes.FromClrType<Half>());
    }

    [Fact]
    public void Fixture_weights_decode_to_floats_of_the_declared_shape()
    {
        var graph = TestModels.FashionCnn().Graph;

        var weights = graph.GetInitializerData("classifier.1.weight");

        Assert.Equal(OnnxDataType.Float, weights.DataType);
        Assert.Equal([128L, 1568L], weights.Dims);
        Assert.Equal(128 * 1568, weights.GetValues<float>().Length);
        Assert.Contains(weights.GetValues<float>(), value => value != 0f);
        Assert.Throws<KeyNotFoundException>(() => graph.GetInitializerData("no.such.weight"));
    }
}
