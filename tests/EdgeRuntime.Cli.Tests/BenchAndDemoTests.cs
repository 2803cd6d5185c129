using System.Text.Json;
using EdgeRuntime.Samples;

namespace EdgeRuntime.Cli.Tests;

public sealed class BenchAndDemoTests
{
    [Fact]
    public async Task Bench_reports_the_protocol_figures_per_variant()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);

        var result = await Cli.RunAsync("bench", model, "--runs", "30", "--warmup", "3", "--batch", "4", "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Output);
        Assert.Equal(4, report.RootElement.GetProperty("batch_size").GetInt32());
        Assert.Contains("[4,1,28,28]", report.RootElement.GetProperty("input_shapes").GetString());
        Assert.True(report.RootElement.GetProperty("machine").GetProperty("logical_cores").GetInt32() >= 1);
        var variant = report.RootElement.GetProperty("variants")[0];
        Assert.Equal(30, variant.GetProperty("runs").GetInt32());
        double min = variant.GetProperty("min_ms").GetDouble(), p50 = variant.GetProperty("p50_ms").GetDouble();
        double p95 = variant.GetProperty("p95_ms").GetDouble(), p99 = variant.GetProperty("p99_ms").GetDouble();
        Assert.True(min > 0 && min <= p50 && p50 <= p95 && p95 <= p99, result.Output);
        Assert.True(variant.GetProperty("session_create_ms").GetDouble() > 0);
        Assert.True(variant.GetProperty("peak_rss_bytes").GetInt64() > 0);
    }

    [Fact]
    public async Task Bench_overhead_compares_against_a_raw_session_in_the_same_run()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var result = await Cli.RunAsync("bench", model, "--overhead", "--rounds", "2", "--runs", "20", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Output);
        var modes = report.RootElement.GetProperty("modes").EnumerateArray().ToDictionary(m => m.GetProperty("mode").GetString()!);
        Assert.Equal(1.0, modes["raw_session"].GetProperty("ratio_mean").GetDouble());
        Assert.Equal(40, modes["runtime_run"].GetProperty("runs").GetInt32());
        Assert.True(modes["runtime_run_async"].GetProperty("mean_us").GetDouble() > 0);
    }

    [Fact]
    public async Task Bench_knobs_names_a_variant_the_bundle_lacks_before_starting_any_daemon()
    {
        using var temp = new TempDirectory();
        var (_, bundle) = await Cli.CreateFixtureBundleAsync(temp);
        string before = File.ReadAllText(Path.Combine(bundle, "manifest.json"));

        var result = await Cli.RunAsync("bench-knobs", bundle, "--variant", "int3", "--knobs", "1", "--record", "x");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("has no variant 'int3' (has: fp32", result.Error);
        Assert.Equal(before, File.ReadAllText(Path.Combine(bundle, "manifest.json")));
    }

    [Fact]
    public async Task Bench_records_measured_costs_into_the_bundle_manifest()
    {
        using var temp = new TempDirectory();
        var (model, bundle) = await Cli.CreateFixtureBundleAsync(temp);

        var result = await Cli.RunAsync("bench", bundle, "--runs", "20", "--record", "x86_64-test");

        Assert.True(result.ExitCode == 0, result.ToString());
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(bundle, "manifest.json")))!;
        var cost = manifest["variants"]![0]!["costs"]!["x86_64-test"]!;
        Assert.True((double?)cost["latency_p50_ms"] > 0);
        Assert.True((double?)cost["latency_p95_ms"] >= (double?)cost["latency_p50_ms"]);
        Assert.Equal(1, (int?)cost["batch_size"]);
        Assert.Equal(0, (await Cli.RunAsync("bundle", "verify", bundle)).ExitCode);

        var single = await Cli.RunAsync("bench", model, "--record", "x");
        Assert.Equal(1, single.ExitCode);
        Assert.Contains("--record needs a bundle directory", single.Error);
    }

    [Fact]
    public async Task Bench_rejects_a_malformed_shape()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(temp.Path);
        var result = await Cli.RunAsync("bench", model, "--shape", "input=1xfoo");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--shape 'input=1xfoo'", result.Error);
    }

    [Fact]
    public async Task Demo_builds_a_bundle_and_serves_every_request()
    {
        using var temp = new TempDirectory();
        var result = await Cli.RunAsync("demo", "--out", temp.File("demo"), "--requests", "200", "--quick", "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Output);
        Assert.Equal(0, report.RootElement.GetProperty("failures").GetInt32());
        Assert.Equal(200, report.RootElement.GetProperty("variants").EnumerateArray().Sum(v => v.GetProperty("served").GetInt32()));
        Assert.True(File.Exists(Path.Combine(temp.File("demo"), "bundle", "manifest.json")));
    }

    [Fact]
    public async Task Unknown_command_is_a_usage_error()
    {
        var result = await Cli.RunAsync("frobnicate");
        Assert.NotEqual(0, result.ExitCode);
    }
}
