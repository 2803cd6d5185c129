using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>Measures this process's peak memory, so nothing else may run beside it.</summary>
[CollectionDefinition(nameof(StaticCalibrationMemoryTests), DisableParallelization = true)]
public sealed class StaticCalibrationMemoryCollection;

[Collection(nameof(StaticCalibrationMemoryTests))]
public sealed class StaticCalibrationMemoryTests
{
    [Fact]
    public void Calibration_memory_stays_flat_from_1k_to_10k_samples()
    {
        using var temp = new TempDirectory();
        // 2048 inputs per sample: holding every activation of 10k samples would take ~90 MB more than 1k.
        string model = SmallModels.Mlp(temp.File("wide.onnx"), inputs: 2048, hidden: 256, outputs: 16, seed: 1);
        string small = SmallModels.WriteRandomNpy(temp.File("1k.npy"), 1000, 2048, seed: 2);
        string large = SmallModels.WriteRandomNpy(temp.File("10k.npy"), 10000, 2048, seed: 3);
        var (inputs, _) = OrtSignatures.ReadFromFile(model);

        long Peak(string file)
        {
            var data = CalibrationData.FromNpy(new Dictionary<string, string> { ["x"] = file }, inputs, batchSize: 100);
            GC.Collect();
            Evaluation.Benchmarking.PeakMemory.TryReset();
            long before = Evaluation.Benchmarking.PeakMemory.ReadPeakBytes();
            ActivationCalibrator.Calibrate(OnnxModel.Load(model), ["hidden", "hidden_relu"], data, new CalibrationOptions { Method = CalibrationMethod.Entropy });
            return Evaluation.Benchmarking.PeakMemory.ReadPeakBytes() - before;
        }
        if (!Evaluation.Benchmarking.PeakMemory.TryReset())
        {
            Assert.Skip("peak memory cannot be reset on this system (/proc/self/clear_refs)");
        }
        Peak(small); // warm up code paths and ONNX Runtime's arenas
        long growthSmall = Peak(small), growthLarge = Peak(large);
        Assert.True(growthLarge - growthSmall < 40L << 20, $"peak grew by {growthSmall >> 20} MB for 1k samples and {growthLarge >> 20} MB for 10k");
    }

}
