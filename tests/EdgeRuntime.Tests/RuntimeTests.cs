using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Tests;

public sealed class RuntimeTests
{
    private static NamedTensor Row(params float[] values) => NamedTensor.FromArray("x", values, 1, values.Length);

    [Fact]
    public void Runs_the_current_variant_and_switches_to_another()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)), ("triple", TestModels.Scale(3f)));
        using var runtime = ModelRuntime.Open(temp.Path);

        var first = runtime.Run([Row(1, 2, 3, 4)]);
        Assert.Equal("double", first.VariantId);
        Assert.Equal([2f, 4, 6, 8], first["y"].AsSpan<float>().ToArray());

        var switches = new List<VariantSwitch>();
        runtime.Switched += switches.Add;
        runtime.SwitchTo("triple");
        var second = runtime.Run([Row(1, 2, 3, 4)]);
        Assert.Equal("triple", second.VariantId);
        Assert.Equal([3f, 6, 9, 12], second["y"].AsSpan<float>().ToArray());
        Assert.Equal(("double", "triple"), (switches.Single().From, switches.Single().To));
    }

    [Fact]
    public void Outputs_follow_the_batch_size_of_each_request()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)));
        using var runtime = ModelRuntime.Open(temp.Path);
        // Same shape twice (second run writes into preallocated outputs), then a new shape.
        for (int batch = 1; batch <= 3; batch++)
        {
            for (int repeat = 0; repeat < 2; repeat++)
            {
                var values = Enumerable.Range(0, batch * 4).Select(i => (float)i).ToArray();
                var y = runtime.Run([NamedTensor.FromArray("x", values, batch, 4)])["y"];
                Assert.Equal([batch, 4L], y.Shape);
                Assert.Equal(values.Select(v => v * 2), y.AsSpan<float>().ToArray());
            }
        }
    }

    [Fact]
    public void Runs_a_named_variant_without_switching()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)), ("triple", TestModels.Scale(3f)));
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { ValidateAllVariantsOnOpen = false });
        Assert.Equal(VariantState.NotLoaded, runtime.GetStatus().Single(s => s.Id == "triple").State);

        var result = runtime.Run([Row(1, 1, 1, 1)], "triple");
        Assert.Equal("triple", result.VariantId);
        Assert.Equal("double", runtime.CurrentVariant);
        Assert.Equal(VariantState.Ready, runtime.GetStatus().Single(s => s.Id == "triple").State);
    }

    [Theory]
    [InlineData("wrong-name", "input 'x' is missing")]
    [InlineData("wrong-type", "input 'x' must be float32, got int32")]
    [InlineData("wrong-rank", "must have rank 2")]
    [InlineData("wrong-dim", "dimension 1 must be 4")]
    [InlineData("too-many", "takes 1 input(s)")]
    public void Bad_inputs_are_rejected_naming_the_problem(string kind, string expected)
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)));
        using var runtime = ModelRuntime.Open(temp.Path);
        NamedTensor[] inputs = kind switch
        {
            "wrong-name" => [NamedTensor.FromArray("z", new float[4], 1, 4)],
            "wrong-type" => [NamedTensor.FromArray("x", new int[4], 1, 4)],
            "wrong-rank" => [NamedTensor.FromArray("x", new float[4], 4)],
            "wrong-dim" => [NamedTensor.FromArray("x", new float[5], 1, 5)],
            _ => [Row(1, 2, 3, 4), NamedTensor.FromArray("extra", new float[1], 1)],
        };
        var error = Assert.Throws<InvalidInputException>(() => runtime.Run(inputs));
        Assert.Contains(expected, error.Message);
        Assert.Equal(0, runtime.GetLatency("double").Failures);
    }

    [Fact]
    public void Tensor_with_wrong_byte_count_is_refused_at_construction()
    {
        var error = Assert.Throws<ArgumentException>(() => new NamedTensor("x", ElementType.Float32, [1, 4], new byte[15]));
        Assert.Contains("needs 16 bytes, got 15", error.Message);
    }

    [Fact]
    public async Task Eight_callers_see_no_failure_while_the_variant_switches_every_10_ms()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        // A one-byte budget unloads the variant switched away from each time, so requests
        // still running on it must finish on a retired session that is disposed after them.
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { MemoryBudgetBytes = 1 });
        const int callers = 8, requestsEach = 2000;
        var image = new float[28 * 28];
        int failures = 0, switchesDone = 0;
        var errors = new System.Collections.Concurrent.ConcurrentBag<Exception>();
        var perVariant = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();

        var switcher = Task.Run(async () =>
        {
            string[] ids = ["a", "b"];
            while (!stop.IsCancellationRequested)
            {
                runtime.SwitchTo(ids[switchesDone++ % 2]);
                await Task.Delay(10);
            }
        });
        var workers = Enumerable.Range(0, callers).Select(_ => Task.Run(() =>
        {
            var input = NamedTensor.FromArray("input", image, 1, 1, 28, 28);
            for (int i = 0; i < requestsEach; i++)
            {
                try
                {
                    var result = runtime.Run([input]);
                    if (result["logits"].Shape[1] != 10)
                    {
                        throw new InvalidOperationException("bad output shape");
                    }
                    perVariant.AddOrUpdate(result.VariantId, 1, (_, n) => n + 1);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failures);
                    errors.Add(e);
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        stop.Cancel();
        await switcher;

        Assert.True(errors.IsEmpty, string.Join("\n", errors.Take(3)));
        Assert.Equal(0, failures);
        Assert.Equal(callers * requestsEach, perVariant.Values.Sum());
        Assert.True(switchesDone > 2, $"only {switchesDone} switches happened");
        Assert.True(perVariant.Count == 2, $"requests ran on {string.Join(", ", perVariant.Keys)}");
    }

    [Fact]
    public void Cancellation_stops_a_long_run_and_the_runtime_keeps_serving()
    {
        using var temp = new TempDirectory();
        // 2,000 chained 1024x1024 MatMuls: minutes of work on this machine if not stopped.
        TestBundles.Write(temp.Path, ("long", TestModels.LongChain(2000)));
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { WarmUpOnLoad = false });
        var input = NamedTensor.FromArray("x", new float[1024 * 1024], 1024, 1024);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        Assert.ThrowsAny<OperationCanceledException>(() => runtime.Run([input], cancel.Token));
        watch.Stop();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"cancellation took {watch.Elapsed}");

        // A cancelled run leaves no terminate flag behind for the next request.
        Assert.ThrowsAny<OperationCanceledException>(() => runtime.Run([input], new CancellationToken(true)));
        using var twoSteps = new TempDirectory();
        TestBundles.Write(twoSteps.Path, ("short", TestModels.LongChain(2)));
        using var quick = ModelRuntime.Open(twoSteps.Path);
        using var generous = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        Assert.Equal([1024L, 1024], quick.Run([input], generous.Token)["y"].Shape);
    }

    [Fact]
    public async Task RunAsync_completes_with_the_same_result_and_honours_cancellation()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)));
        using var runtime = ModelRuntime.Open(temp.Path);
        var result = await runtime.RunAsync([Row(1, 2, 3, 4)]);
        Assert.Equal([2f, 4, 6, 8], result["y"].AsSpan<float>().ToArray());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => runtime.RunAsync([Row(1, 2, 3, 4)], new CancellationToken(true)));
    }

    [Fact]
    public void Memory_budget_keeps_only_what_fits_and_reloads_on_demand()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("a", SampleModels.FashionCnn()), ("b", SampleModels.FashionCnn()), ("c", SampleModels.FashionCnn()));
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { MemoryBudgetBytes = 1 });
        // Every variant was checked at open, but only the current one stays resident.
        Assert.Equal(["a"], runtime.GetStatus().Where(s => s.State == VariantState.Ready).Select(s => s.Id));
        Assert.All(runtime.GetStatus(), s => Assert.NotEqual(VariantState.Unavailable, s.State));

        runtime.SwitchTo("c");
        Assert.Equal(["c"], runtime.GetStatus().Where(s => s.State == VariantState.Ready).Select(s => s.Id));
        Assert.Equal("c", runtime.Run([NamedTensor.Zeros("input", ElementType.Float32, 1, 1, 28, 28)]).VariantId);
    }

    [Fact]
    public void Prewarm_and_unload_change_what_is_resident()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { ValidateAllVariantsOnOpen = false });
        Assert.Equal(VariantState.NotLoaded, runtime.GetStatus()[1].State);
        runtime.Prewarm("b");
        Assert.Equal(VariantState.Ready, runtime.GetStatus()[1].State);
        runtime.Unload("b");
        Assert.Equal(VariantState.NotLoaded, runtime.GetStatus()[1].State);
        Assert.Throws<InvalidOperationException>(() => runtime.Unload("a"));
        Assert.Throws<KeyNotFoundException>(() => runtime.SwitchTo("nope"));
    }

    [Fact]
    public void Invalid_options_are_refused_at_open()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        var error = Assert.Throws<ArgumentException>(() => ModelRuntime.Open(temp.Path, new RuntimeOptions { LatencyWindowSamples = 0, LatencyWindow = TimeSpan.Zero }));
        Assert.Contains("LatencyWindowSamples", error.Message);
        Assert.Throws<KeyNotFoundException>(() => ModelRuntime.Open(temp.Path, new RuntimeOptions { InitialVariant = "zzz" }));
    }

    [Fact]
    public void Status_reports_latency_per_variant()
    {
        using var temp = new TempDirectory();
        TestBundles.FashionPair(temp.Path);
        using var runtime = ModelRuntime.Open(temp.Path);
        var input = NamedTensor.Zeros("input", ElementType.Float32, 1, 1, 28, 28);
        for (int i = 0; i < 20; i++)
        {
            runtime.Run([input]);
        }
        var a = runtime.GetStatus().Single(s => s.Id == "a");
        Assert.True(a.IsCurrent);
        Assert.Equal(20, a.Latency.TotalCount);
        Assert.True(a.Latency.P50Ms > 0 && a.Latency.P50Ms <= a.Latency.P95Ms && a.Latency.P95Ms <= a.Latency.P99Ms);
        Assert.True(a.ResidentBytes > 0);
        Assert.NotNull(a.LoadTime);
    }
}
