using System.CommandLine;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Compression.Pipelines;
using EdgeRuntime.Compression.Pruning;
using EdgeRuntime.Reporting;
using EdgeRuntime.Onnx;

namespace EdgeRuntime.Cli.Commands;

/// <summary>`edgert prune`: unstructured (magnitude, second-order), 1x8 block or structured channel pruning, with reconstruction.</summary>
internal static class PruneCommand
{
    public static Command Create(CliContext context)
    {
        var input = new Argument<FileInfo>("model") { Description = "The fp32 .onnx model" };
        var method = new Option<string>("--method") { Description = "magnitude | second-order | block (1x8 blocks, for SparseBlockMatMul) | structured", Required = true };
        var ratio = new Option<double>("--ratio") { Description = "Fraction of weights (unstructured) or of each group's channels (structured) to remove", DefaultValueFactory = _ => 0.5 };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Where to write the pruned model", Required = true };
        var calib = new Option<string[]>("--calib") { Description = "Calibration samples: X.npy, NAME=X.npy per input, or a dataset name (fashion-mnist)", AllowMultipleArgumentsPerToken = true };
        var calibLimit = new Option<int?>("--calib-limit") { Description = "Use only the first N calibration samples (default: all of a file, 4096 of a dataset)" };
        var criterion = new Option<string?>("--criterion") { Description = "l1 | l2 | second-order (default: l1 for magnitude, second-order otherwise)" };
        var scope = new Option<string>("--scope") { Description = "Unstructured: global (one threshold) | per-layer", DefaultValueFactory = _ => "global" };
        var noReconstruct = new Option<bool>("--no-reconstruct") { Description = "Skip the least-squares refit of layers to the teacher's outputs" };
        var reconstruct = new Option<bool>("--reconstruct") { Description = "Unstructured and block: also refit the remaining weights to the teacher's outputs" };
        var batchNorm = new Option<bool>("--bn-reestimate") { Description = "Structured: re-estimate BatchNormalization statistics against the teacher's (helps without reconstruction; after it, it costs accuracy)" };
        var distillHead = new Option<bool>("--distill-head") { Description = "Finally refit the classifier head to the teacher's softened outputs" };
        var temperature = new Option<double>("--temperature") { Description = "Temperature of --distill-head", DefaultValueFactory = _ => 4.0 };
        var distillEpochs = new Option<int>("--distill-epochs") { Description = "Finally train the pruned weights by gradient descent to the teacher's logits on the calibration data, for this many passes (0: off)" };
        var distillRate = new Option<double>("--distill-rate") { Description = "Adam step size of --distill-epochs (cosine decay)", DefaultValueFactory = _ => new GradientDistillOptions().LearningRate };
        var distillTemperature = new Option<double>("--distill-temperature") { Description = "With --distill-epochs, under a final Softmax: match the teacher's softmax softened by this temperature (0: match the logits by squared error)", DefaultValueFactory = _ => 1.0 };
        var distillCalib = new Option<string[]>("--distill-calib") { Description = "Samples for --distill-epochs, when they should differ from --calib (distillation gains from many more samples than reconstruction needs)", AllowMultipleArgumentsPerToken = true };
        var distillLimit = new Option<int?>("--distill-limit") { Description = "Use only the first N samples of --distill-calib" };
        var exclude = new Option<string[]>("--exclude") { Description = "Layer names or op types to leave alone (repeatable)", AllowMultipleArgumentsPerToken = true };
        var addTo = new Option<string?>("--add-to") { Description = "Also add the result to this bundle, with what was applied" };
        var id = new Option<string?>("--id") { Description = "Variant id for --add-to (default: pruned-<method>-<ratio>)" };
        var targetMacs = new Option<double?>("--target-macs") { Description = "Structured: search per-group ratios (sensitivity by perturbation) so the model keeps this fraction of its MACs, instead of one --ratio" };
        var targetLatency = new Option<double?>("--target-latency") { Description = "Structured: search per-group ratios so the model keeps this fraction of its latency on this device, from a measured latency lookup table" };
        var targetChannels = new Option<double?>("--target-channels") { Description = "Structured: search per-group ratios so the model keeps this fraction of its channels, removing them where the measured sensitivity is least" };
        var candidates = new Option<double[]>("--candidate-ratios") { Description = "Ratios each group may take in a search (default 0.25 0.5 0.75)", AllowMultipleArgumentsPerToken = true };
        var latencyCache = new Option<DirectoryInfo?>("--latency-cache") { Description = "Where latency lookup tables are kept, per device and model hash (default: .cache/latency under the repository or the current folder)" };
        var roundTo = new Option<int?>("--round-to") { Description = "Structured: round each group's kept channels to a multiple of this (1: no rounding; default: the multiple a convolution probe measured fastest on this device, cached with the latency tables)" };
        var fasterMargin = new Option<double>("--faster-margin") { Description = "Structured: the pruned model must run at most (1 - this) times its parent's latency, measured in the same run, or it is not written", DefaultValueFactory = _ => PruneSpeedCheck.DefaultMargin };
        var allowSlower = new Option<bool>("--allow-slower") { Description = "Structured: write the pruned model even when it is not faster than its parent by --faster-margin" };
        var json = CliOutput.Json();
        var command = new Command("prune", "Make a pruned variant of an fp32 model (unstructured or channel pruning, with reconstruction from calibration data)");
        command.Arguments.Add(input);
        command.AddOptions(method, ratio, output, calib, calibLimit, criterion, scope, noReconstruct, reconstruct, batchNorm, distillHead, temperature, distillEpochs, distillRate, distillTemperature, distillCalib, distillLimit, exclude, addTo, id, targetMacs, targetLatency, targetChannels, candidates, latencyCache, roundTo, fasterMargin, allowSlower, json);
        command.SetAction(result =>
        {
            var request = new PruneRequest(result.GetValue(input)!.FullName, result.GetValue(output)!.FullName, result.GetValue(method)!)
            {
                Ratio = result.GetValue(ratio), Calibration = result.GetValue(calib) ?? [], CalibrationLimit = result.GetValue(calibLimit),
                Criterion = result.GetValue(criterion), Scope = result.GetValue(scope)!, StructuredReconstruct = !result.GetValue(noReconstruct),
                Reconstruct = result.GetValue(reconstruct), ReestimateBatchNorm = result.GetValue(batchNorm), DistillHead = result.GetValue(distillHead),
                HeadTemperature = result.GetValue(temperature), DistillEpochs = result.GetValue(distillEpochs), DistillRate = result.GetValue(distillRate),
                DistillTemperature = result.GetValue(distillTemperature), DistillCalibration = result.GetValue(distillCalib) ?? [], DistillLimit = result.GetValue(distillLimit),
                Exclude = result.GetValue(exclude) ?? [], AddTo = result.GetValue(addTo), VariantId = result.GetValue(id),
                TargetMacs = result.GetValue(targetMacs), TargetLatency = result.GetValue(targetLatency), TargetChannels = result.GetValue(targetChannels),
                CandidateRatios = result.GetValue(candidates), LatencyCache = LatencyCacheDirectory(result.GetValue(latencyCache)), RoundTo = result.GetValue(roundTo),
                FasterMargin = result.GetValue(fasterMargin), AllowSlower = result.GetValue(allowSlower),
            };
            var report = PrunePipeline.Run(request, result.GetValue(json) ? null : context.Error.WriteLine, context.Error.WriteLine);
            context.Write(result.GetValue(json), report, PrunePipeline.WriteText);
            return 0;
        });
        return command;
    }

    /// <summary>Where latency tables and the channel probe are cached: the given folder, else .cache/latency beside the model cache.</summary>
    internal static string LatencyCacheDirectory(DirectoryInfo? given) => given?.FullName
        ?? Path.Combine(Path.GetDirectoryName(Zoo.ModelZoo.DefaultCacheDirectory(Environment.CurrentDirectory))!, "latency");
}
