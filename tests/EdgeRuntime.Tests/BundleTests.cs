using System.Text.Json.Nodes;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Tests;

public sealed class BundleTests
{
    private static NamedTensor Image() => NamedTensor.Zeros("input", ElementType.Float32, 1, 1, 28, 28);

    [Fact]
    public void Manifest_round_trips_through_json()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var bundle = ModelBundle.Open(temp.Path);
        Assert.Equal(["a", "b"], bundle.Variants.Select(v => v.Id));
        Assert.All(bundle.Variants, v => Assert.Null(v.Problem));
        var input = Assert.Single(bundle.Manifest.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal(ElementType.Float32, input.ElementType);
        Assert.False(input.Shape[0].IsFixed);
        Assert.Equal([1L, 28, 28], input.Shape.Skip(1).Select(d => d.Size!.Value));

        string json = File.ReadAllText(temp.File("manifest.json"));
        Assert.Contains("\"schema_version\": 1", json);
        Assert.Contains("\"element_type\": \"float32\"", json);
        Assert.Equal(json.TrimEnd(), ManifestJson.Serialize(ManifestJson.Parse(json, "manifest.json")));
    }

    [Fact]
    public void Missing_variant_file_makes_only_that_variant_unavailable()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        File.Delete(temp.File("b.onnx"));

        using var runtime = ModelRuntime.Open(temp.Path);
        var b = runtime.GetStatus().Single(s => s.Id == "b");
        Assert.Equal(VariantState.Unavailable, b.State);
        Assert.Contains("'b.onnx' is missing", b.Reason);
        Assert.Equal("a", runtime.Run([Image()]).VariantId);
        var error = Assert.Throws<VariantUnavailableException>(() => runtime.SwitchTo("b"));
        Assert.Equal("b", error.VariantId);
        Assert.Equal("a", runtime.CurrentVariant);
    }

    [Fact]
    public void Hash_mismatch_is_reported_with_both_hashes()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        byte[] bytes = File.ReadAllBytes(temp.File("b.onnx"));
        bytes[^10] ^= 0xFF; // same size, different content
        File.WriteAllBytes(temp.File("b.onnx"), bytes);

        var bundle = ModelBundle.Open(temp.Path);
        Assert.Contains("sha256 mismatch for 'b.onnx'", bundle["b"].Problem);
        using var runtime = ModelRuntime.Open(bundle);
        Assert.Equal(VariantState.Unavailable, runtime.GetStatus().Single(s => s.Id == "b").State);
        Assert.Equal(VariantState.Ready, runtime.GetStatus().Single(s => s.Id == "a").State);
    }

    [Fact]
    public void Truncated_file_is_reported_by_size_before_hashing()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        byte[] bytes = File.ReadAllBytes(temp.File("b.onnx"));
        File.WriteAllBytes(temp.File("b.onnx"), bytes[..(bytes.Length / 2)]);

        var bundle = ModelBundle.Open(temp.Path);
        Assert.Contains("truncated or replaced", bundle["b"].Problem);
    }

    [Fact]
    public void Corrupt_onnx_with_matching_hash_is_unavailable_with_the_loader_error()
    {
        using var temp = new TempDirectory();
        byte[] model = SampleModels.FashionCnn();
        TestBundles.Write(temp.Path, ("good", model), ("corrupt", model[..(model.Length / 3)]));

        using var runtime = ModelRuntime.Open(temp.Path);
        var corrupt = runtime.GetStatus().Single(s => s.Id == "corrupt");
        Assert.Equal(VariantState.Unavailable, corrupt.State);
        Assert.Contains("ONNX Runtime cannot load 'corrupt.onnx'", corrupt.Reason);
        Assert.Equal("good", runtime.Run([Image()]).VariantId);
    }

    [Fact]
    public void Variant_with_different_inputs_is_unavailable_naming_the_input()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("ref", TestModels.Scale(2f)), ("renamed", TestModels.Scale(2f, input: "z")), ("wider", TestModels.Scale(2f, width: 8)));

        using var runtime = ModelRuntime.Open(temp.Path);
        var status = runtime.GetStatus().ToDictionary(s => s.Id);
        Assert.Equal(VariantState.Ready, status["ref"].State);
        Assert.Contains("input 'x' is missing", status["renamed"].Reason);
        Assert.Contains("unexpected input 'z'", status["renamed"].Reason);
        Assert.Contains("input 'x' is float32[batch,8], expected float32[batch,4]", status["wider"].Reason);
    }

    [Fact]
    public void Unknown_schema_version_is_refused()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("manifest.json")))!;
        json["schema_version"] = 99;
        File.WriteAllText(temp.File("manifest.json"), json.ToJsonString());

        var error = Assert.Throws<BundleException>(() => ModelBundle.Open(temp.Path));
        Assert.Contains("unknown schema_version 99", error.Message);
        Assert.Contains("manifest.json", error.Message);
    }

    [Fact]
    public void Manifest_that_is_not_json_is_refused_with_the_position()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        File.WriteAllText(temp.File("manifest.json"), "{ \"schema_version\": 1, \"name\": ");

        var error = Assert.Throws<BundleException>(() => ModelBundle.Open(temp.Path));
        Assert.Contains("manifest.json", error.Message);
        Assert.Contains("not a valid manifest", error.Message);
    }

    [Theory]
    [InlineData("[1, 2, 3]", "must be a JSON object")]
    [InlineData("{\"name\": \"x\"}", "'schema_version' is missing")]
    [InlineData("", "not a valid manifest")]
    public void Malformed_manifests_name_the_problem(string content, string expected)
    {
        using var temp = new TempDirectory();
        File.WriteAllText(temp.File("manifest.json"), content);
        var error = Assert.Throws<BundleException>(() => ModelBundle.Open(temp.Path));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Manifest_with_path_traversal_or_duplicate_ids_is_refused()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("manifest.json")))!;
        json["variants"]![1]!["file"] = "../evil.onnx";
        json["variants"]![1]!["id"] = "a";
        File.WriteAllText(temp.File("manifest.json"), json.ToJsonString());

        var error = Assert.Throws<BundleException>(() => ModelBundle.Open(temp.Path));
        Assert.Contains("variant id 'a' appears 2 times", error.Message);
        Assert.Contains("must be a plain file name", error.Message);
    }

    [Fact]
    public void Missing_manifest_or_directory_is_refused()
    {
        using var temp = new TempDirectory();
        Assert.Contains("has no manifest.json", Assert.Throws<BundleException>(() => ModelBundle.Open(temp.Path)).Message);
        Assert.Contains("does not exist", Assert.Throws<BundleException>(() => ModelBundle.Open(temp.File("nope"))).Message);
    }

    [Fact]
    public void Bundle_with_no_loadable_variant_fails_to_open_listing_every_reason()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        File.Delete(temp.File("a.onnx"));
        File.WriteAllText(temp.File("b.onnx"), "garbage");

        var error = Assert.Throws<BundleException>(() => ModelRuntime.Open(temp.Path));
        Assert.Contains("a: file 'a.onnx' is missing", error.Message);
        Assert.Contains("b: file 'b.onnx' is", error.Message);
    }

    [Fact]
    public void Preferred_execution_providers_missing_from_the_build_fall_back_to_cpu_with_a_reason()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("manifest.json")))!;
        json["variants"]![1]!["execution_providers"] = new JsonArray("cuda", "cpu");
        File.WriteAllText(temp.File("manifest.json"), json.ToJsonString());

        using var runtime = ModelRuntime.Open(temp.Path);
        var b = runtime.GetStatus().Single(s => s.Id == "b");
        Assert.Equal(VariantState.Ready, b.State);
        Assert.Equal(["CPUExecutionProvider"], b.Providers);
        Assert.Contains("CUDAExecutionProvider is not in this ONNX Runtime build", b.ProviderNote);
        Assert.Null(runtime.GetStatus().Single(s => s.Id == "a").ProviderNote);
    }

    [Fact]
    public void A_variant_needing_a_missing_custom_op_library_is_unavailable_not_fatal()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var json = JsonNode.Parse(File.ReadAllText(temp.File("manifest.json")))!;
        json["variants"]![1]!["custom_op_libraries"] = new JsonArray("libedgert_sparse_ops.so");
        File.WriteAllText(temp.File("manifest.json"), json.ToJsonString());

        using var runtime = ModelRuntime.Open(temp.Path);
        var b = runtime.GetStatus().Single(s => s.Id == "b");
        Assert.Equal(VariantState.Unavailable, b.State);
        Assert.Contains("custom-op library 'libedgert_sparse_ops.so'", b.Reason);
        Assert.Equal("a", runtime.Run([Image()]).VariantId);
    }

    [Fact]
    public void A_single_onnx_file_opens_as_a_one_variant_bundle()
    {
        using var temp = new TempDirectory();
        string path = SampleModels.WriteFashionCnn(temp.Path);
        using var runtime = ModelRuntime.Open(path);
        Assert.Equal("model", runtime.CurrentVariant);
        Assert.Equal("input", Assert.Single(runtime.Inputs).Name);
        var logits = runtime.Run([Image()])["logits"];
        Assert.Equal([1L, 10], logits.Shape);
    }
}
