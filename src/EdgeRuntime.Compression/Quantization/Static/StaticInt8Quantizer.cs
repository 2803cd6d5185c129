using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Inference;
using EdgeRuntime.Onnx;
using EdgeRuntime.Tensors;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Static;

/// <summary>
/// int8 static quantization in QDQ form: calibrate activation ranges, then write Q/DQ pairs, per-channel
/// int8 weights and int32 biases where ONNX Runtime fuses them into QLinearConv / QLinearMatMul / QGemm.
/// Optionally keeps the most error-sensitive nodes in float until an output error budget holds.
/// </summary>
public static class StaticInt8Quantizer
{
    public static QuantizationResult Quantize(OnnxModel model, CalibrationData data, StaticQuantizeOptions? options = null, Action<string>? log = null)
    {
        options ??= new StaticQuantizeOptions();
        options.Validate();
        long opset = model.OpsetFor("") ?? 0;
        if (opset < 10)
        {
            throw new NotSupportedException($"the model uses opset {opset}; QuantizeLinear needs 10 and per-channel weights 13: upgrade it first (edgert upgrade)");
        }
        var warnings = new List<string>();
        bool perChannel = options.PerChannel;
        if (perChannel && opset < 13)
        {
            perChannel = false;
            warnings.Add($"opset {opset} has no per-channel DequantizeLinear: weights use one scale per tensor (upgrade to 13 for per-channel)");
        }
        var (reduced, rangeReason) = Int8Platform.Decide(options.WeightRange, options.TargetPlatform);

        var working = model.Clone();
        NameAllNodes(working.Graph);
        working.Graph.ConvertConstantNodes();
        var types = TensorTypeInference.Infer(working);
        var candidates = QdqPlan.Candidates(working.Graph, types, [.. options.Exclude], warnings);
        if (candidates.Count == 0)
        {
            throw new NotSupportedException("nothing to quantize: the model has no Conv, Gemm or MatMul with constant float weights on float activations");
        }
        WarnAboutControlFlow(working.Graph, warnings);

        var full = QdqPlan.Create(working.Graph, types, candidates);
        var meansFor = options.BiasCorrection
            ? candidates.Where(n => n.OpType is "Conv" or "Gemm").Select(n => n.Input[0]).ToHashSet()
            : [];
        log?.Invoke($"calibrating {full.QuantizedTensors.Count()} tensors on {data.Description} ({options.Calibration.Method})");
        var exact = InputDerived(working.Graph).Intersect(full.QuantizedTensors).ToHashSet();
        var calibration = ActivationCalibrator.Calibrate(working, [.. full.QuantizedTensors], data, options.Calibration, meansFor, exact);
        foreach (string tensor in full.Calibrated)
        {
            log?.Invoke($"  {tensor}: {calibration.Ranges[tensor]} (seen {calibration.Observed[tensor]})");
        }

        OnnxModel Build(IReadOnlyCollection<NodeProto> nodes) =>
            QdqBuilder.Build(working, QdqPlan.Create(working.Graph, types, nodes), calibration, reduced, perChannel, options.BiasCorrection);

        var selected = candidates.ToList();
        var kept = new List<string>();
        double? finalError = null;
        if (options.ErrorBudget is double budget)
        {
            (selected, finalError) = FitErrorBudget(working, candidates, Build, data, options, budget, log);
            kept.AddRange(candidates.Except(selected).Select(n => n.Name));
        }
        var quantized = Build(selected);
        quantized.SetOpset("", Math.Max(opset, perChannel ? 13 : 10));
        quantized.ProducerName = "EdgeRuntime";

        var excluded = working.Graph.Nodes.Where(n => options.Exclude.Contains(n.Name) || options.Exclude.Contains(n.OpType)).Select(n => n.Name);
        var applied = new List<string>
        {
            $"int8-static QDQ: {selected.Count} of {candidates.Count} nodes, u8 activations per tensor, s8 weights {(perChannel ? "per channel" : "per tensor")}",
            $"calibration: {options.Calibration.Method.ToString().ToLowerInvariant()} on {calibration.Samples} samples",
            rangeReason,
        };
        if (options.BiasCorrection)
        {
            applied.Add("bias correction");
        }
        if (finalError is double error)
        {
            applied.Add($"mixed precision: {kept.Count} node(s) kept in float for relative output error {error:G3} <= {options.ErrorBudget:G3}");
        }
        return new QuantizationResult(quantized, QuantizationMode.Int8Static)
        {
            FloatNodes = [.. kept.Concat(excluded).Distinct()],
            Applied = applied,
            Warnings = warnings,
            QuantizedNodes = selected.Count,
        };
    }

    /// <summary>
    /// Measures each node's error when quantized alone, then drops the most sensitive nodes back to
    /// float, one at a time, until the whole model's error fits the budget.
    /// </summary>
    private static (List<NodeProto> Selected, double Error) FitErrorBudget(
        OnnxModel floatModel, IReadOnlyList<NodeProto> candidates, Func<IReadOnlyCollection<NodeProto>, OnnxModel> build,
        CalibrationData data, StaticQuantizeOptions options, double budget, Action<string>? log)
    {
        var batches = data.Batches().Take(Math.Max(1, options.SensitivitySamples / Math.Max(1, options.Calibration.BatchSize))).ToList();
        var reference = ScratchRuntime.FloatOutputs(floatModel, batches);
        double Error(IReadOnlyCollection<NodeProto> nodes) => RelativeError(reference, ScratchRuntime.FloatOutputs(build(nodes), batches));

        var selected = candidates.ToList();
        double error = Error(selected);
        log?.Invoke($"all {selected.Count} nodes quantized: relative output error {error:G3} (budget {budget:G3})");
        if (error <= budget)
        {
            return (selected, error);
        }
        var sensitivity = candidates.ToDictionary(n => n.Name, n => Error([n]));
        foreach (var node in candidates.OrderByDescending(n => sensitivity[n.Name]))
        {
            selected.Remove(node);
            error = selected.Count == 0 ? 0 : Error(selected);
            log?.Invoke($"keeping {node.OpType} '{node.Name}' in float (alone: {sensitivity[node.Name]:G3}): error now {error:G3}");
            if (error <= budget)
            {
                break;
            }
        }
        return (selected, error);
    }

    /// <summary>Squared error relative to the reference's energy, averaged over output tensors.</summary>
    public static double RelativeError(IReadOnlyList<float[]> reference, IReadOnlyList<float[]> candidate)
    {
        double total = 0;
        for (int i = 0; i < reference.Count; i++)
        {
            double energy = 0, error = 0;
            for (int j = 0; j < reference[i].Length; j++)
            {
                double r = reference[i][j], d = candidate[i][j] - r;
                energy += r * r;
                error += d * d;
            }
            total += energy > 0 ? error / energy : error;
        }
        return reference.Count == 0 ? 0 : total / reference.Count;
    }

    /// <summary>
    /// Tensors that are the model's input after only elementwise preprocessing (scaling, casts, layout):
    /// their range is the data's own, so they are never clipped.
    /// </summary>
    private static IEnumerable<string> InputDerived(OnnxGraph graph)
    {
        var derived = graph.RuntimeInputs.Select(i => i.Name).ToHashSet();
        foreach (var node in graph.TopologicalOrder())
        {
            bool preprocessing = node.OpType is "Sub" or "Div" or "Mul" or "Add" or "Cast" or "Reshape" or "Transpose" or "Unsqueeze" or "Identity";
            bool IsConstant(string name) => name.Length == 0 || graph.IsInitializer(name) || graph.GetProducer(name) is { OpType: "Constant" };
            if (preprocessing && node.Input.Any(derived.Contains) && node.Input.All(i => derived.Contains(i) || IsConstant(i)))
            {
                derived.UnionWith(node.Output);
            }
        }
        return derived;
    }

    private static void NameAllNodes(OnnxGraph graph)
    {
        var seen = new HashSet<string>();
        foreach (var node in graph.Nodes)
        {
            if (node.Name.Length == 0 || !seen.Add(node.Name))
            {
                node.Name = graph.UniqueName($"{node.OpType}_{node.Output.FirstOrDefault()}");
                seen.Add(node.Name);
            }
        }
        graph.Invalidate();
    }

    private static void WarnAboutControlFlow(OnnxGraph graph, List<string> warnings)
    {
        foreach (var node in graph.Nodes.Where(n => n.OpType is "If" or "Loop" or "Scan" or "LSTM" or "GRU" or "RNN"))
        {
            warnings.Add($"{node.OpType} '{node.Name}' and anything inside it stay float");
        }
    }
}
