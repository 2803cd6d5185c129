using System.Diagnostics;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Evaluation.Benchmarking;

public sealed record OverheadMode(string Mode, int Runs, double MeanUs, double P50Us, double P95Us, double RatioMean, double RatioP50);

public sealed record OverheadReport(string Model, MachineInfo Machine, int BatchSize, int Rounds, int RunsPerRound, IReadOnlyList<OverheadMode> Modes);

/// <summary>
/// What the runtime adds over calling ONNX Runtime directly: the same model and inputs, a raw
/// <see cref="InferenceSession"/> against <see cref="ModelRuntime.Run(IReadOnlyList{NamedTensor}, CancellationToken)"/>
/// and RunAsync, in interleaved rounds so drift on a shared machine hits every mode alike.
/// </summary>
public static class OverheadBenchmark
{
    public static async Task<OverheadReport> RunAsync(string modelPath, int batchSize = 1, int rounds = 20, int runsPerRound = 250, int warmupRuns = 200)
    {
        var machine = MachineInfo.Current();
        var bundle = ModelBundle.FromModelFile(modelPath);
        using var runtime = ModelRuntime.Open(bundle);
        var inputs = Benchmarker.MakeInputs(runtime.Inputs, new BenchOptions { BatchSize = batchSize });
        var input = inputs.Length == 1 && inputs[0].ElementType == ElementType.Float32
            ? inputs[0]
            : throw new NotSupportedException("the overhead benchmark feeds one float32 input");
        float[] values = input.AsSpan<float>().ToArray();

        using var sessionOptions = SharedOrtEnvironment.CreateSessionOptions();
        using var session = new InferenceSession(modelPath, sessionOptions);
        using var runOptions = new RunOptions();
        string[] inputNames = [input.Name];
        string[] outputNames = [.. session.OutputMetadata.Keys];

        void Raw()
        {
            using var value = OrtValue.CreateTensorValueFromMemory(values, input.Shape);
            using var outputs = session.Run(runOptions, inputNames, [value], outputNames);
            _ = outputs[0].GetTensorDataAsSpan<float>()[0];
        }
        void Runtime()
        {
            var tensor = NamedTensor.FromArray(input.Name, values, input.Shape);
            _ = runtime.Run([tensor]).Outputs[0].AsSpan<float>()[0];
        }
        async Task RuntimeAsync()
        {
            var tensor = NamedTensor.FromArray(input.Name, values, input.Shape);
            _ = (await runtime.RunAsync([tensor])).Outputs[0].AsSpan<float>()[0];
        }

        for (int i = 0; i < warmupRuns; i++)
        {
            Raw();
            Runtime();
            await RuntimeAsync();
        }
        var samples = new Dictionary<string, List<double>> { ["raw_session"] = [], ["runtime_run"] = [], ["runtime_run_async"] = [] };
        for (int round = 0; round < rounds; round++)
        {
            // Alternate the order each round so neither mode always follows the other.
            string[] order = round % 2 == 0 ? ["raw_session", "runtime_run", "runtime_run_async"] : ["runtime_run_async", "runtime_run", "raw_session"];
            foreach (string mode in order)
            {
                var list = samples[mode];
                for (int i = 0; i < runsPerRound; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    switch (mode)
                    {
                        case "raw_session": Raw(); break;
                        case "runtime_run": Runtime(); break;
                        default: await RuntimeAsync(); break;
                    }
                    list.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                }
            }
        }
        foreach (var list in samples.Values)
        {
            list.Sort();
        }
        double rawMean = samples["raw_session"].Average(), rawP50 = LatencyTracker.Percentile(samples["raw_session"], 0.5);
        var modes = samples.Select(pair =>
        {
            double mean = pair.Value.Average(), p50 = LatencyTracker.Percentile(pair.Value, 0.5);
            return new OverheadMode(pair.Key, pair.Value.Count, mean, p50, LatencyTracker.Percentile(pair.Value, 0.95), mean / rawMean, p50 / rawP50);
        }).ToList();
        return new OverheadReport(bundle.Name, machine, batchSize, rounds, runsPerRound, modes);
    }
}
