using System.Globalization;
using System.Text.Json.Nodes;
using EdgeRuntime.Onnx;
using EdgeRuntime.Samples;
using Google.Protobuf;

namespace EdgeRuntime.Cli.Tests;

/// <summary>A model whose weights live in an external data file: the bundle carries and hashes that file too.</summary>
public sealed class BundleExternalDataTests
{
    /// <summary>The fixture CNN with every raw initializer moved into data.bin next to it, as exporters of large models write them.</summary>
    private static string WriteExternalDataModel(string directory)
    {
        string path = SampleModels.WriteFashionCnn(directory);
        var model = OnnxModel.Load(path);
        int moved = 0;
        using (var data = File.Create(Path.Combine(directory, "data.bin")))
        {
            foreach (var tensor in model.Proto.Graph.Initializer.Where(t => t.RawData.Length > 0))
            {
                long offset = data.Position;
                data.Write(tensor.RawData.Span);
                tensor.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "location", Value = "data.bin" });
                tensor.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "offset", Value = offset.ToString(CultureInfo.InvariantCulture) });
                tensor.ExternalData.Add(new global::Onnx.StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(CultureInfo.InvariantCulture) });
                tensor.DataLocation = global::Onnx.TensorProto.Types.DataLocation.External;
                tensor.RawData = ByteString.Empty;
                moved++;
            }
        }
        Assert.True(moved > 0);
        string external = Path.Combine(directory, "external.onnx");
        File.WriteAllBytes(external, model.Proto.ToByteArray());
        return external;
    }

    [Fact]
    public async Task Create_copies_and_hashes_external_data_and_verify_names_a_missing_or_altered_file()
    {
        using var temp = new TempDirectory();
        Directory.CreateDirectory(temp.File("src"));
        string model = WriteExternalDataModel(temp.File("src"));
        string bundle = temp.File("bundle");

        var created = await Cli.RunAsync("bundle", "create", bundle, "--model", model, "--name", "external");
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.True(File.Exists(Path.Combine(bundle, "data.bin")), "the external data file was not copied");
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var data = manifest["variants"]![0]!["external_data"]![0]!;
        Assert.Equal("data.bin", (string?)data["file"]);
        Assert.Equal(64, ((string?)data["sha256"])!.Length);
        var verified = await Cli.RunAsync("bundle", "verify", bundle);
        Assert.True(verified.ExitCode == 0, verified.ToString());

        // Zeros of the same size: before, this still verified.
        long size = new FileInfo(Path.Combine(bundle, "data.bin")).Length;
        File.WriteAllBytes(Path.Combine(bundle, "data.bin"), new byte[size]);
        var altered = await Cli.RunAsync("bundle", "verify", bundle);
        Assert.Equal(1, altered.ExitCode);
        Assert.Contains("sha256 mismatch for 'data.bin'", altered.Output + altered.Error);

        File.Delete(Path.Combine(bundle, "data.bin"));
        var missing = await Cli.RunAsync("bundle", "verify", bundle);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("external data file 'data.bin' is missing", missing.Output + missing.Error);
    }
}
