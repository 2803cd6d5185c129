using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class ExternalDataTests
{
    private static TensorProto ExternalProto(string name, OnnxDataType type, long[] dims, string location, long? offset = null, long? length = null)
    {
        var proto = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        proto.Dims.AddRange(dims);
        proto.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        if (offset is { } start)
        {
            proto.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = start.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        if (length is { } count)
        {
            proto.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = count.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return proto;
    }

    /// <summary>Writes the sample's raw bytes after some padding, as exporters that pack many tensors do.</summary>
    private static (long Offset, long Length) WriteExternal(string path, TensorData tensor, int padding)
    {
        byte[] raw = tensor.ToProto("t").RawData.ToByteArray();
        using var file = File.Create(path);
        file.Write(new byte[padding]);
        file.Write(raw);
        file.Write(new byte[3]);
        return (padding, raw.Length);
    }

    public static TheoryData<OnnxDataType> Types => TensorSamples.Types;

    [Theory]
    [MemberData(nameof(Types))]
    public void External_data_at_an_offset_decodes_every_type(OnnxDataType type)
    {
        using var directory = new TempDirectory();
        var sample = TensorSamples.Sample(type);
        Directory.CreateDirectory(directory.File("weights"));
        var (offset, length) = WriteExternal(directory.File("weights/data.bin"), sample, padding: 16);

        var decoded = TensorData.FromProto(ExternalProto("t", type, [.. sample.Dims], "weights/data.bin", offset, length), directory.Path);

        TensorSamples.AssertSameValues(sample.Values, decoded.Values);
    }

    [Fact]
    public void Without_a_length_the_rest_of_the_file_is_read()
    {
        using var directory = new TempDirectory();
        var sample = TensorData.Create([1f, 2f, 3f], 3);
        File.WriteAllBytes(directory.File("w.bin"), sample.ToProto("w").RawData.ToByteArray());

        var decoded = TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], "w.bin"), directory.Path);

        Assert.Equal([1f, 2f, 3f], decoded.GetValues<float>());
    }

    [Theory]
    [InlineData("../outside.bin")]
    [InlineData("sub/../../outside.bin")]
    public void Locations_that_leave_the_model_directory_are_refused(string location)
    {
        using var directory = new TempDirectory();
        string modelDirectory = directory.File("model");
        Directory.CreateDirectory(Path.Combine(modelDirectory, "sub"));
        File.WriteAllBytes(directory.File("outside.bin"), new byte[12]);

        var error = Assert.Throws<OnnxFormatException>(() =>
            TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], location), modelDirectory));

        Assert.Contains("outside the model directory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Absolute_locations_are_refused()
    {
        using var directory = new TempDirectory();
        string absolute = directory.File("w.bin");
        File.WriteAllBytes(absolute, new byte[12]);

        var error = Assert.Throws<OnnxFormatException>(() =>
            TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], absolute), directory.Path));

        Assert.Contains("absolute path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_pointing_outside_the_model_directory_are_refused()
    {
        using var directory = new TempDirectory();
        string modelDirectory = directory.File("model");
        Directory.CreateDirectory(modelDirectory);
        File.WriteAllBytes(directory.File("secret.bin"), new byte[12]);
        File.CreateSymbolicLink(Path.Combine(modelDirectory, "w.bin"), directory.File("secret.bin"));

        var error = Assert.Throws<OnnxFormatException>(() =>
            TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], "w.bin"), modelDirectory));

        Assert.Contains("link", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reading_past_the_end_of_the_file_is_reported()
    {
        using var directory = new TempDirectory();
        File.WriteAllBytes(directory.File("w.bin"), new byte[8]);

        var error = Assert.Throws<OnnxFormatException>(() =>
            TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], "w.bin", offset: 4, length: 12), directory.Path));

        Assert.Contains("only 8 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void External_data_needs_a_directory()
    {
        var error = Assert.Throws<OnnxFormatException>(() =>
            TensorData.FromProto(ExternalProto("w", OnnxDataType.Float, [3], "w.bin")));

        Assert.Contains("not loaded from a file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Model_with_external_weights_loads_runs_and_can_be_internalized()
    {
        using var directory = new TempDirectory();
        float[] weights = [1f, 2f, 3f, 4f, 5f, 6f];
        var model = TestModels.MatMulAddRelu(weights, [0f, -100f]);
        var (offset, length) = WriteExternal(directory.File("model.weights"), TensorData.Create(weights, 3, 2), padding: 64);
        model.Graph.RemoveInitializer("W");
        model.Graph.AddInitializer(ExternalProto("W", OnnxDataType.Float, [3, 2], "model.weights", offset, length));
        string path = directory.File("model.onnx");
        model.BaseDirectory = directory.Path;
        model.Save(path);

        var loaded = OnnxModel.Load(path);
        Assert.True(loaded.HasExternalData);
        Assert.Equal(weights, loaded.Graph.GetInitializerData("W").GetValues<float>());

        // ONNX Runtime resolves the same file relative to the model path.
        var input = ("x", new float[] { 1f, 1f, 1f }, new long[] { 1, 3 });
        var fromRuntime = Ort.RunFile(path, ["y"], input)["y"];
        Assert.Equal([9f, 0f], fromRuntime.Floats!);

        // Saving elsewhere would break the relative location, so it is refused until internalized.
        string elsewhere = directory.File("other/model.onnx");
        Assert.Throws<InvalidOperationException>(() => loaded.Save(elsewhere));
        Assert.Equal(1, loaded.InternalizeExternalData());
        loaded.Save(elsewhere);
        var moved = OnnxModel.Load(elsewhere);
        Assert.False(moved.HasExternalData);
        Assert.Equal([9f, 0f], Ort.Run(moved, input)["y"].Floats!);
    }
}
