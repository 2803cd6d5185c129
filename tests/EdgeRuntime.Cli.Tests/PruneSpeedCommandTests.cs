using System.Text.Json.Nodes;
using EdgeRuntime.Compression.Pruning;

namespace EdgeRuntime.Cli.Tests;

/// <summary>
/// `edgert prune --method structured` times the pruned model against its parent before writing it. Which one
/// is faster depends on the machine, so the refusal path is forced with a margin no pruning can meet.
/// </summary>
public sealed class PruneSpeedCommandTests
{
    [Fact]
    public async Task A_pruned_model_not_faster_by_the_margin_is_refused_with_both_latencies()
    {
        using var temp = new TempDirectory();
        string model = temp.File("plain.onnx"), output = temp.File("pruned.onnx");
        GeneratedCnns.Plain(size: 32).Save(model);

        // Rounding off, odd counts (24 -> 17, 48 -> 34, ...), and a margin of 99%: the pruned model would have to run in 1% of the time.
        var refused = await Cli.RunAsync("--threads", "1", "prune", model, "--method", "structured", "--ratio", "0.3", "--criterion", "l1", "--no-reconstruct",
            "--round-to", "1", "--faster-margin", "0.99", "-o", output);

        Assert.Equal(1, refused.ExitCode);
        Assert.Matches(@"measured \d+\.\d+ ms pruned vs \d+\.\d+ ms parent = \d+\.\d+x \(needs <= 0\.010x", refused.Error);
        Assert.Contains("not written", refused.Error);
        Assert.Contains("--allow-slower", refused.Error);
        Assert.Matches(@"\d+ thread\(s\)", refused.Error);
        Assert.False(File.Exists(output));

        var allowed = await Cli.RunAsync("--threads", "1", "prune", model, "--method", "structured", "--ratio", "0.3", "--criterion", "l1", "--no-reconstruct",
            "--round-to", "1", "--faster-margin", "0.99", "--allow-slower", "-o", output, "--json");

        Assert.True(allowed.ExitCode == 0, allowed.ToString());
        Assert.True(File.Exists(output));
        var report = JsonNode.Parse(allowed.Output)!;
        Assert.True((double)report["parent_milliseconds"]! > 0 && (double)report["pruned_milliseconds"]! > 0);
        Assert.Equal(1, (int)report["round_to"]!);
        Assert.True((long)report["peak_rss_bytes"]! > 0);
        Assert.Contains(report["applied"]!.AsArray(), a => ((string)a!).Contains("ms parent"));
        // Rounding disabled: the odd counts are there.
        Assert.Contains(report["layers"]!.AsArray(), l => (string)l!["layer"]! == "conv0" && (int)l["outputs_kept"]! == 17);
    }

    [Fact]
    public async Task Bad_margins_and_multiples_are_named()
    {
        using var temp = new TempDirectory();
        string model = temp.File("plain.onnx");
        GeneratedCnns.Plain(size: 32).Save(model);

        var margin = await Cli.RunAsync("prune", model, "--method", "structured", "--criterion", "l1", "--no-reconstruct", "--faster-margin", "1.5", "-o", temp.File("a.onnx"));
        var multiple = await Cli.RunAsync("prune", model, "--method", "structured", "--criterion", "l1", "--no-reconstruct", "--round-to", "0", "-o", temp.File("b.onnx"));

        Assert.Equal(1, margin.ExitCode);
        Assert.Contains("--faster-margin 1.5", margin.Error);
        Assert.Equal(1, multiple.ExitCode);
        Assert.Contains("--round-to 0", multiple.Error);
    }
}
