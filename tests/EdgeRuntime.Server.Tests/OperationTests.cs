using EdgeRuntime.Client;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Server.Tests;

/// <summary>Every operation over a real Unix socket against real ONNX Runtime sessions.</summary>
public sealed class OperationTests
{
    [Fact]
    public async Task Hello_and_list_models_describe_the_bundle()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        var hello = await client.ConnectAsync();
        Assert.Equal(ProtocolSerializer.Version, hello.ProtocolVersion);
        Assert.Equal(["fashion-cnn"], hello.Models);

        var model = Assert.Single((await client.ListModelsAsync()).Models);
        Assert.Equal(("fashion-cnn", "a", "a"), (model.Name, model.ReferenceVariant, model.CurrentVariant));
        Assert.Equal(["a", "b"], model.Variants.Select(v => v.Id));
        var input = Assert.Single(model.Inputs);
        Assert.Equal(("input", "float32"), (input.Name, input.DataType));
        Assert.Equal([1L, 28, 28], input.Shape[1..]);
        Assert.All(model.Variants, v => Assert.Equal("ready", v.State));
    }

    [Fact]
    public async Task Infer_returns_what_the_runtime_computes_in_process()
    {
        await using var server = await TestServer.StartAsync();
        var pixels = TestBundles.Image(11);
        var result = await server.Client().InferAsync(WireTensor.FromArray("input", pixels, 1, 1, 28, 28));

        using var runtime = ModelRuntime.Open(server.Options.Bundles[0]);
        var expected = runtime.Run([NamedTensor.FromArray("input", pixels, 1, 1, 28, 28)]).First.AsSpan<float>().ToArray();
        var logits = result["logits"];
        Assert.Equal([1L, 10], logits.Shape);
        Assert.Equal("a", result.Variant);
        var actual = logits.ToArray<float>();
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 5);
        }
    }

    [Fact]
    public async Task Inference_summaries_in_the_telemetry_carry_cpu_per_inference_and_the_threads_setting()
    {
        using var directory = new TestDirectory();
        string log = directory["telemetry"];
        var server = await TestServer.StartAsync(o =>
        {
            o.TelemetryDirectory = log;
            o.TelemetryIntervalSeconds = 3600;
        }, directory: directory);
        await using (server)
        {
            var client = server.Client();
            for (int i = 0; i < 5; i++)
            {
                await client.InferAsync(TestServer.Image(i));
            }
            string knobs = Assert.Single((await client.StatusAsync()).Models).Knobs!;
            server.Server.Telemetry!.Sample();
            Assert.True(await server.Server.Telemetry.Log.FlushAsync());
            var records = new List<EdgeRuntime.Telemetry.TelemetryRecord>();
            EdgeRuntime.Telemetry.TelemetryLogReader.ReadDirectory(log, records.Add);
            var summary = Assert.Single(records, r => r.Inference is not null).Inference!;
            Assert.Equal(5, summary.Count);
            Assert.Equal(knobs, summary.Knobs);
            Assert.True(summary.CpuMsPerInference > 0, $"CPU per inference {summary.CpuMsPerInference} ms");
        }
    }

    [Fact]
    public async Task Status_reports_counters_latency_reasons_and_empty_sensors()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        for (int i = 0; i < 5; i++)
        {
            await client.InferAsync(TestServer.Image(i));
        }
        var status = await client.StatusAsync();
        Assert.Equal(5, status.Server.Completed);
        Assert.True(status.Server.Healthy);
        Assert.Equal(16, status.Server.QueueCapacity);
        Assert.Empty(status.Sensors);
        Assert.Null(status.ThermalState);
        var model = Assert.Single(status.Models);
        Assert.Equal("a", model.CurrentVariant);
        Assert.NotEmpty(model.Reasons);
        var current = model.Variants.Single(v => v.Current);
        Assert.True(current.Count >= 5);
        Assert.NotNull(current.P50Ms);
        // Runs and their CPU on the threads that ran them: what a request costs beside the rest of the daemon's work.
        Assert.True(model.Runs >= 5, $"{model.Runs} runs");
        Assert.True(model.RunCpuSeconds > 0 && model.RunCpuSeconds < status.Server.CpuSeconds, $"run CPU {model.RunCpuSeconds} s of the process's {status.Server.CpuSeconds} s");

        var error = await Assert.ThrowsAsync<EdgertException>(() => client.StatusAsync("no-such-model"));
        Assert.Equal(ErrorCode.UnknownModel, error.Code);
    }

    [Fact]
    public async Task Hints_are_stored_a_variant_hint_switches_and_subscribers_see_the_switch()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        await using var subscription = await client.SubscribeAsync(["switch"]);

        var reply = await client.SetHintsAsync(new Dictionary<string, string> { ["latency_slo_ms"] = "20", ["variant"] = "b" });
        Assert.Equal("b", reply.CurrentVariant);
        Assert.Equal("20", reply.Hints["latency_slo_ms"]);

        var switched = await subscription.Events.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(("switch", "a", "b"), (switched.Kind, switched.Switch!.From, switched.Switch.To));
        Assert.Contains("hint", switched.Switch.Reason);

        var result = await client.InferAsync(TestServer.Image());
        Assert.Equal("b", result.Variant);
        var model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal(1, model.Switches);
        Assert.Equal("20", model.Hints["latency_slo_ms"]);
        Assert.Contains("hint", model.Reasons[0]);

        var removed = await client.SetHintsAsync(new Dictionary<string, string> { ["latency_slo_ms"] = "" });
        Assert.False(removed.Hints.ContainsKey("latency_slo_ms"));

        var unknown = await Assert.ThrowsAsync<EdgertException>(() => client.SetHintsAsync(new Dictionary<string, string> { ["variant"] = "zzz" }));
        Assert.Equal(ErrorCode.UnknownVariant, unknown.Code);
        Assert.Equal("b", (await client.InferAsync(TestServer.Image())).Variant);
    }

    [Fact]
    public async Task Reload_swaps_in_a_good_bundle_and_refuses_a_bad_one_while_the_old_keeps_serving()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        await using var subscription = await client.SubscribeAsync(["reload"]);
        string fresh = TestBundles.FashionPair(server.Directory["bundle-v2"]);

        var reloaded = await client.ReloadAsync(fresh);
        Assert.Equal(Path.GetFullPath(fresh), reloaded.Path);
        Assert.Equal(["a", "b"], reloaded.Variants);
        var reloadEvent = await subscription.Events.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("reload", reloadEvent.Kind);
        Assert.Equal(Path.GetFullPath(fresh), Assert.Single((await client.ListModelsAsync()).Models).Path);

        string broken = server.Directory["broken"];
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "manifest.json"), "{ not json");
        var error = await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(broken));
        Assert.Equal(ErrorCode.ReloadFailed, error.Code);
        Assert.Contains("keeps serving", error.Message);

        string otherName = TestBundles.FashionPair(server.Directory["other"], name: "other-model");
        Assert.Equal(ErrorCode.ReloadFailed, (await Assert.ThrowsAsync<EdgertException>(() => client.ReloadAsync(otherName))).Code);

        await client.InferAsync(TestServer.Image());
        var model = Assert.Single((await client.StatusAsync()).Models);
        Assert.Equal(1, model.Reloads);

        using var raw = server.Raw();
        raw.Send(MessageType.Reload, 5, new ReloadRequest { Kind = "profile" });
        var profileError = await raw.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.InvalidRequest, profileError.Code);
        Assert.Contains("'profile' (the JSON text) or 'path'", profileError.Message);
    }

    [Fact]
    public async Task Reload_lets_requests_in_flight_finish_on_the_old_runtime()
    {
        await using var server = await TestServer.StartAsync(o => o.Workers = 1);
        var client = server.Client();
        server.Server.Scheduler.Pause();
        var pending = Enumerable.Range(0, 6).Select(i => client.InferAsync(TestServer.Image(i))).ToList();
        await TestServer.WaitUntilAsync(() => Task.FromResult(server.Server.Scheduler.QueueDepth + server.Server.Scheduler.InFlight == 6), "six requests are accepted");

        string fresh = TestBundles.FashionPair(server.Directory["bundle-v2"]);
        var reload = client.ReloadAsync(fresh);
        await reload;
        server.Server.Scheduler.Resume();
        var results = await Task.WhenAll(pending);
        Assert.Equal(6, results.Length);
        Assert.All(results, r => Assert.Equal(10, r["logits"].ToArray<float>().Length));
    }

    [Fact]
    public async Task Quality_floor_picks_a_variant_that_keeps_it_or_says_none_does()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.Bundles = [TestBundles.FashionPair(Path.GetFullPath(Path.Combine(o.RuntimeDirectory, "..", "q")), quality: new Dictionary<string, double> { ["a"] = 0.80, ["b"] = 0.91 })];
        });
        var client = server.Client();
        Assert.Equal("a", (await client.InferAsync(TestServer.Image(), new InferOptions { MinQuality = 0.75 })).Variant);
        Assert.Equal("b", (await client.InferAsync(TestServer.Image(), new InferOptions { MinQuality = 0.9 })).Variant);
        var error = await Assert.ThrowsAsync<EdgertException>(() => client.InferAsync(TestServer.Image(), new InferOptions { MinQuality = 0.95 }));
        Assert.Equal(ErrorCode.QualityUnavailable, error.Code);
        Assert.Contains("b=0.91", error.Message);
    }

    [Fact]
    public async Task Many_concurrent_calls_share_one_connection()
    {
        await using var server = await TestServer.StartAsync(o => o.QueueCapacity = 64);
        var client = server.Client();
        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => client.InferAsync(TestServer.Image(i))));
        Assert.Equal(40, results.Length);
        Assert.Equal(1, client.Connects);
        Assert.Equal(40, (await client.StatusAsync()).Server.Completed);
    }

    [Fact]
    public async Task Unsubscribe_stops_events_and_unknown_kinds_are_refused()
    {
        await using var server = await TestServer.StartAsync();
        var client = server.Client();
        var error = await Assert.ThrowsAsync<EdgertException>(() => client.SubscribeAsync(["weather"]));
        Assert.Equal(ErrorCode.InvalidRequest, error.Code);

        var subscription = await client.SubscribeAsync(["hints"]);
        await subscription.DisposeAsync();
        await client.SetHintsAsync(new Dictionary<string, string> { ["power"] = "saver" });
        Assert.True(subscription.Events.Completion.IsCompleted);
    }
}
