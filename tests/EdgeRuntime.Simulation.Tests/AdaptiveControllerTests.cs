using System.Collections.Concurrent;
using EdgeRuntime.Bundles;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;
using EdgeRuntime.Samples;
using EdgeRuntime.Tensors;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Simulation.Tests;

public sealed class AdaptiveControllerTests
{
    /// <summary>Two copies of the fixture; the manifest says "light" costs a fifth of "heavy" on a Raspberry Pi 4.</summary>
    private static string WriteBundle(string directory)
    {
        Directory.CreateDirectory(directory);
        string heavy = SampleModels.WriteFashionCnn(directory, "heavy.onnx");
        string light = SampleModels.WriteFashionCnn(directory, "light.onnx");
        var (inputs, outputs) = OrtSignatures.ReadFromFile(heavy);
        VariantManifest Variant(string id, string path, double quality, double ms) => new()
        {
            Id = id,
            File = Path.GetFileName(path),
            Sha256 = ModelBundle.ComputeSha256(path),
            SizeBytes = new FileInfo(path).Length,
            Quality = new QualityRecord { Metric = "top1", Value = quality },
            Costs = new Dictionary<string, DeviceCost> { ["raspberry-pi-4"] = new() { LatencyP50Ms = ms, LatencyP95Ms = ms * 1.2 } },
        };
        ManifestJson.WriteAtomically(new BundleManifest
        {
            Name = "controller-test",
            ReferenceVariant = "heavy",
            Inputs = inputs,
            Outputs = outputs,
            Variants = [Variant("heavy", heavy, 0.9, 0.05), Variant("light", light, 0.8, 0.01)],
        }, Path.Combine(directory, BundleManifest.FileName));
        return directory;
    }

    [Fact]
    public async Task Switches_driven_by_board_heat_drop_no_request_from_eight_callers()
    {
        using var temp = new TempDirectory();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var board = BoardCatalog.BuiltIn().Get("raspberry-pi-4");
        var simulated = new SimulatedBoard(board, temp.File("board"), time.Advance, ambientCelsius: 45);
        var monitor = DeviceMonitor.ForBoard(board, simulated.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, time);
        using var runtime = ModelRuntime.Open(WriteBundle(temp.File("bundle")));
        using var controller = new AdaptiveController(runtime, new ProfileStore(ProfileCatalog.BuiltIn("raspberry-pi-4")), monitor, time)
        {
            // Heat, not latency, should drive this test: this machine's latency under eight callers is not a board's.
            Hints = new GovernorHints { SloP95Ms = 1000 },
        };

        var failures = new ConcurrentBag<Exception>();
        var served = new ConcurrentDictionary<string, int>();
        using var stop = new CancellationTokenSource();
        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            var input = NamedTensor.Zeros("input", ElementType.Float32, 1, 1, 28, 28);
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    served.AddOrUpdate(runtime.Run([input]).VariantId, 1, (_, n) => n + 1);
                    Thread.Sleep(1);
                }
                catch (Exception e)
                {
                    failures.Add(e);
                }
            }
        })).ToArray();

        var reasons = new List<DecisionReason>();
        for (int cycle = 0; cycle < 3; cycle++)
        {
            // Full load until the board is serious, then idle until it has cooled and the dwell has passed.
            while (simulated.Celsius < 76)
            {
                simulated.Step(TimeSpan.FromSeconds(1), 1.0);
            }
            simulated.WriteTree();
            var down = controller.Tick();
            reasons.Add(down.Reason);
            Assert.Equal("light", runtime.CurrentVariant);
            await Task.Delay(20);
            while (simulated.Celsius > 62)
            {
                simulated.Step(TimeSpan.FromSeconds(1), 0.0);
            }
            for (int tick = 0; tick < 30 && runtime.CurrentVariant != "heavy"; tick++)
            {
                simulated.Step(TimeSpan.FromSeconds(1), 0.0);
                simulated.WriteTree();
                controller.Tick();
            }
            Assert.Equal("heavy", runtime.CurrentVariant);
            await Task.Delay(20);
        }
        stop.Cancel();
        await Task.WhenAll(callers);

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(3)));
        Assert.All(reasons, r => Assert.Contains(r, new[] { DecisionReason.ThermalSerious, DecisionReason.ThermalPredicted, DecisionReason.ThermalCritical }));
        Assert.True(served.Keys.Count == 2, $"served by {string.Join(", ", served.Keys)}");
        Assert.Equal(6, controller.RecentDecisions.Count(d => d.Switched));
    }
}
