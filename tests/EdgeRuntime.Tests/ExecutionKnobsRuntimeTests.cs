using System.Collections.Concurrent;
using System.Diagnostics;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;
using EdgeRuntime.Bundles;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Tests;

public sealed class ExecutionKnobsRuntimeTests
{
    [Fact]
    public void Standby_keeps_only_the_serving_variant_and_the_next_lighter_one_loaded()
    {
        using var temp = new TempDirectory();
        byte[] model = SampleModels.FashionCnn();
        string bundle = TestBundles.Write(Path.Combine(temp.Path, "b"), ("a", model), ("b", model), ("c", model), ("d", model));
        using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { StandbyOnly = true });
        string[] Ready() => [.. runtime.GetStatus().Where(v => v.State == VariantState.Ready).Select(v => v.Id)];
        Assert.Equal(["a", "b"], Ready());

        runtime.SwitchTo("c");
        Assert.Equal(["c", "d"], Ready());
        var pixels = new float[28 * 28];
        Assert.Equal("c", runtime.Run([NamedTensor.FromArray(SampleModels.FashionCnnInputName, pixels, 1, 1, 28, 28)]).VariantId);

        // The lightest has nothing below it; a step back up loads on the switch and takes its standby along.
        runtime.SwitchTo("d");
        Assert.Equal(["d"], Ready());
        runtime.SwitchTo("a");
        Assert.Equal(["a", "b"], Ready());
    }

    [Fact]
    public void Sessions_on_one_shared_cpu_arena_compute_what_sessions_with_their_own_arenas_do()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(Path.Combine(temp.Path, "m"));
        string bundle = Path.Combine(temp.Path, "b");
        byte[] bytes = File.ReadAllBytes(model);
        TestBundles.Write(bundle, ("a", bytes), ("b", bytes));
        var pixels = Enumerable.Range(0, 28 * 28).Select(i => (i % 13) / 13f).ToArray();
        NamedTensor[] input = [NamedTensor.FromArray(SampleModels.FashionCnnInputName, pixels, 1, 1, 28, 28)];
        using var own = ModelRuntime.Open(bundle, new RuntimeOptions { IntraOpThreads = 2 });
        float[] expected = own.Run(input).First.AsSpan<float>().ToArray();

        using var shared = ModelRuntime.Open(bundle, new RuntimeOptions { IntraOpThreads = 2, SharedCpuArena = true, Knobs = ExecutionKnobs.SingleThread });
        foreach (string variant in new[] { "a", "b" })
        {
            shared.SwitchTo(variant);
            foreach (var knobs in new[] { ExecutionKnobs.SingleThread, ExecutionKnobs.AllThreads() })
            {
                var result = shared.Run(input, knobs);
                Assert.Equal(variant, result.VariantId);
                Assert.Equal(expected, result.First.AsSpan<float>().ToArray(), (x, y) => Math.Abs(x - y) <= 1e-5f);
            }
        }
    }

    [Fact]
    public async Task Knobs_switch_under_eight_concurrent_callers_without_a_failed_request()
    {
        using var temp = new TempDirectory();
        string model = SampleModels.WriteFashionCnn(Path.Combine(temp.Path, "m"));
        string bundle = Path.Combine(temp.Path, "b");
        TestBundles.Write(bundle, ("a", File.ReadAllBytes(model)));
        using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { IntraOpThreads = 2, Knobs = ExecutionKnobs.SingleThread });
        var pixels = Enumerable.Range(0, 28 * 28).Select(i => (i % 17) / 17f).ToArray();
        NamedTensor[] input = [NamedTensor.FromArray(SampleModels.FashionCnnInputName, pixels, 1, 1, 28, 28)];
        float[] expected = runtime.Run(input).First.AsSpan<float>().ToArray();

        var failures = new ConcurrentQueue<string>();
        var used = new ConcurrentDictionary<ExecutionKnobs, int>();
        long runs = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var callers = Enumerable.Range(0, 8).Select(caller => Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    // Half the callers take the runtime's setting, half name one per request.
                    ExecutionKnobs? own = caller % 2 == 0 ? null : (Interlocked.Read(ref runs) % 3) switch
                    {
                        0 => ExecutionKnobs.SingleThread,
                        1 => ExecutionKnobs.AllThreads(),
                        _ => ExecutionKnobs.AllThreads(spin: true),
                    };
                    var result = runtime.Run(input, own);
                    used.AddOrUpdate(result.Knobs, 1, (_, n) => n + 1);
                    var got = result.First.AsSpan<float>();
                    for (int i = 0; i < expected.Length; i++)
                    {
                        if (Math.Abs(got[i] - expected[i]) > 1e-4f)
                        {
                            failures.Enqueue($"caller {caller}: output {i} is {got[i]}, expected {expected[i]} ({result.Knobs})");
                            break;
                        }
                    }
                    Interlocked.Increment(ref runs);
                }
                catch (Exception e)
                {
                    failures.Enqueue($"caller {caller}: {e.GetType().Name}: {e.Message}");
                }
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        ExecutionKnobs[] cycle = [ExecutionKnobs.AllThreads(), ExecutionKnobs.AllThreads(spin: true), ExecutionKnobs.SingleThread];
        int switches = 0;
        while (!stop.IsCancellationRequested)
        {
            runtime.SetKnobs(cycle[switches++ % cycle.Length]);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        await Task.WhenAll(callers);

        Assert.Empty(failures);
        Assert.True(switches > 10, $"only {switches} switches");
        Assert.True(runs > 100, $"only {runs} runs");
        Assert.Equal(3, used.Count);
        Assert.Equal(runs + 1, runtime.GetCpuUsage().Inferences);
    }

    [Fact]
    public void Each_setting_gets_its_own_session_and_latency()
    {
        using var temp = new TempDirectory();
        TestBundles.Write(temp.Path, ("double", TestModels.Scale(2f)));
        using var runtime = ModelRuntime.Open(temp.Path, new RuntimeOptions { IntraOpThreads = 2 });
        Assert.Equal(ExecutionKnobs.AllThreads(), runtime.Knobs);
        var changes = new List<(ExecutionKnobs, ExecutionKnobs)>();
        runtime.KnobsChanged += (from, to) => changes.Add((from, to));
        runtime.SetKnobs(ExecutionKnobs.SingleThread);
        for (int i = 0; i < 3; i++)
        {
            var result = runtime.Run([NamedTensor.FromArray("x", new float[] { 1, 2, 3, 4 }, 1, 4)]);
            Assert.Equal(ExecutionKnobs.SingleThread, result.Knobs);
            Assert.Equal([2f, 4, 6, 8], result["y"].AsSpan<float>().ToArray());
        }
        runtime.Run([NamedTensor.FromArray("x", new float[] { 1, 2, 3, 4 }, 1, 4)], ExecutionKnobs.AllThreads());
        var latency = runtime.GetKnobLatency("double");
        Assert.Equal(3, latency[ExecutionKnobs.SingleThread].TotalCount);
        Assert.Equal(1, latency[ExecutionKnobs.AllThreads()].TotalCount);
        Assert.Equal([(ExecutionKnobs.AllThreads(), ExecutionKnobs.SingleThread)], changes);
    }

    [Fact]
    public void Cpu_clocks_agree_with_proc_within_ten_percent_on_a_busy_loop()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Skip("/proc is Linux only");
        }
        int pid = Environment.ProcessId;
        var procBefore = CpuClock.ProcStat(pid);
        var processBefore = CpuClock.Process();
        var threadBefore = CpuClock.Thread();
        var threadProcBefore = ThreadProcStat();
        // At least a second of CPU on this thread (wall time is longer on a loaded machine).
        double sink = 0;
        while ((CpuClock.Thread() - threadBefore).TotalSeconds < 1.0)
        {
            for (int i = 0; i < 100_000; i++)
            {
                sink += Math.Sqrt(i);
            }
        }
        var thread = CpuClock.Thread() - threadBefore;
        var threadProc = ThreadProcStat() - threadProcBefore;
        var process = CpuClock.Process() - processBefore;
        var proc = CpuClock.ProcStat(pid) - procBefore;
        Assert.True(sink > 0);
        // /proc counts in clock ticks (10 ms): a second of CPU is read to about 1-2%.
        Assert.InRange(thread.TotalSeconds / threadProc.TotalSeconds, 0.9, 1.1);
        Assert.InRange(process.TotalSeconds / proc.TotalSeconds, 0.9, 1.1);
        // The process spent at least this thread's CPU.
        Assert.True(process >= thread * 0.99, $"process {process} < thread {thread}");
    }

    private static TimeSpan ThreadProcStat()
    {
        string text = File.ReadAllText("/proc/thread-self/stat");
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return TimeSpan.FromSeconds((long.Parse(fields[11]) + long.Parse(fields[12])) / (double)CpuClock.ClockTicksPerSecond);
    }
}
