using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class OnnxModelTests
{
    [Fact]
    public void Fixture_exposes_model_level_fields()
    {
        var model = TestModels.FashionCnn();

        Assert.True(model.IrVersion >= 7);
        Assert.Equal("pytorch", model.ProducerName);
        Assert.Equal(13, model.OpsetFor(""));
        Assert.Equal(13, model.OpsetFor("ai.onnx"));
        Assert.Null(model.OpsetFor("com.microsoft"));
        Assert.Equal(13, model.OpsetImports[""]);
        Assert.Null(model.SourcePath);
        Assert.Equal("input", Assert.Single(model.Graph.RuntimeInputs).Name);
        Assert.Equal("logits", Assert.Single(model.Graph.Outputs).Name);
    }

    [Fact]
    public void Path_stream_and_bytes_load_the_same_model()
    {
        using var directory = new TempDirectory();
        string path = directory.File(TestModels.FixtureFileName);
        File.WriteAllBytes(path, TestModels.FashionCnnBytes());

        var fromPath = OnnxModel.Load(path);
        using var stream = File.OpenRead(path);
        var fromStream = OnnxModel.Load(stream);
        var fromBytes = TestModels.FashionCnn();

        Assert.Equal(fromBytes.Proto, fromPath.Proto);
        Assert.Equal(fromBytes.Proto, fromStream.Proto);
        Assert.Equal(Path.GetFullPath(path), fromPath.SourcePath);
        Assert.Equal(directory.Path, fromPath.BaseDirectory);
        Assert.Equal(directory.Path, fromStream.BaseDirectory);
    }

    [Fact]
    public void Save_and_load_round_trip_keeps_the_protobuf_and_the_bytes()
    {
        using var directory = new TempDirectory();
        var original = TestModels.FashionCnn();
        string path = directory.File("copy.onnx");

        original.Save(path);
        var reloaded = OnnxModel.Load(path);

        Assert.Equal(original.Proto, reloaded.Proto);
        Assert.Equal(original.ToBytes(), File.ReadAllBytes(path));
        Assert.Equal(File.ReadAllBytes(path), reloaded.ToBytes());
    }

    [Fact]
    public void Saved_fixture_gives_the_same_logits_in_onnx_runtime()
    {
        using var directory = new TempDirectory();
        string path = directory.File("copy.onnx");
        TestModels.FashionCnn().Save(path);
        float[] image = TestModels.Floats(28 * 28, seed: 7).Select(value => (value + 1) / 2).ToArray();
        var input = ("input", image, new long[] { 1, 1, 28, 28 });

        var original = Ort.Run(TestModels.FashionCnnBytes(), ["logits"], input)["logits"];
        var copy = Ort.RunFile(path, ["logits"], input)["logits"];

        Assert.Equal([1, 10], copy.Shape);
        Assert.Equal(original.Floats, copy.Floats);
    }

    [Fact]
    public void Save_replaces_an_existing_file_and_leaves_no_temporary_files()
    {
        using var directory = new TempDirectory();
        string path = directory.File("model.onnx");
        File.WriteAllText(path, "old contents");

        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0.5f, -0.5f]);
        model.Save(path);

        Assert.Equal(model.ToBytes(), File.ReadAllBytes(path));
        Assert.Equal(["model.onnx"], Directory.GetFiles(directory.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Failed_save_leaves_no_temporary_file_behind()
    {
        using var directory = new TempDirectory();
        string target = directory.File("taken");
        Directory.CreateDirectory(target);

        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);

        Assert.ThrowsAny<Exception>(() => model.Save(target));
        Assert.Empty(Directory.GetFiles(directory.Path));
        Assert.True(Directory.Exists(target));
    }

    [Fact]
    public void Truncated_file_fails_with_its_name_in_the_message()
    {
        using var directory = new TempDirectory();
        byte[] bytes = TestModels.FashionCnnBytes();
        string path = directory.File("fashion-cnn-truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));

        Assert.Contains("fashion-cnn-truncated.onnx", error.Message, StringComparison.Ordinal);
        Assert.Contains("truncated or corrupt", error.Message, StringComparison.Ordinal);
        Assert.Equal(Path.GetFullPath(path), error.ModelPath);
    }

    [Fact]
    public void Empty_file_fails_saying_it_is_empty()
    {
        using var directory = new TempDirectory();
        string path = directory.File("empty.onnx");
        File.WriteAllBytes(path, []);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));

        Assert.Contains("empty.onnx", error.Message, StringComparison.Ordinal);
        Assert.Contains("is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_that_are_not_protobuf_fail_with_the_source_name()
    {
        byte[] text = "this is a text file, not a model\n"u8.ToArray();

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(text, "notes.txt"));

        Assert.Contains("notes.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_stream_names_the_given_source()
    {
        byte[] bytes = TestModels.FashionCnnBytes();
        using var stream = new MemoryStream(bytes[..(bytes.Length / 3)]);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(stream, "upload.onnx"));

        Assert.Contains("Model 'upload.onnx'", error.Message, StringComparison.Ordinal);
        Assert.Null(error.ModelPath);
    }

    [Fact]
    public void Model_without_a_graph_fails_saying_so()
    {
        var proto = new ModelProto { IrVersion = 8 };
        proto.OpsetImport.Add(new OperatorSetIdProto { Version = 17 });
        using var directory = new TempDirectory();
        string path = directory.File("graphless.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModel.Load(path));

        Assert.Contains("graphless.onnx", error.Message, StringComparison.Ordinal);
        Assert.Contains("no graph", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_reported_as_not_found()
    {
        using var directory = new TempDirectory();

        Assert.Throws<FileNotFoundException>(() => OnnxModel.Load(directory.File("absent.onnx")));
    }

    [Fact]
    public void Metadata_and_opsets_can_be_edited_and_survive_saving()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 2), [0f, 0f]);
        model.SetMetadata("compression", "none");
        model.SetMetadata("compression", "int8");
        model.SetOpset("com.microsoft", 1);
        model.SetOpset("ai.onnx", 18);
        model.ProducerVersion = "test";

        var reloaded = OnnxModel.Load(model.ToBytes());

        Assert.Equal("int8", reloaded.Metadata["compression"]);
        Assert.Single(reloaded.Proto.MetadataProps);
        Assert.Equal(18, reloaded.OpsetFor(""));
        Assert.Equal(1, reloaded.OpsetFor("com.microsoft"));
        Assert.Equal(2, reloaded.OpsetImports.Count);
        Assert.Equal("test", reloaded.ProducerVersion);
    }

    [Fact]
    public void Clone_is_independent_of_the_original()
    {
        var original = TestModels.FashionCnn();
        var copy = original.Clone();

        copy.Graph.RemoveNodeAt(0);
        copy.Graph.Name = "edited";

        Assert.Equal(original.Graph.Nodes.Count - 1, copy.Graph.Nodes.Count);
        Assert.NotEqual("edited", original.Graph.Name);
    }
}
