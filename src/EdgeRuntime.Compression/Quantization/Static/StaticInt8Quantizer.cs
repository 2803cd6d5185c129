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
        if (working.HasExternalData)
        {
            working.InternalizeExternalData();
        }
        var scopes = ScopedGraph.All(working.Graph);
        NameAllNodes(working.Graph, scopes);
        foreach (var scope in scopes)
        {
            scope.Graph.ConvertConstantNodes();
        }
        // Weights read by one If/Loop/Scan body only move into it, where the QDQ pairs for them are written.
        ScopedGraph.LocalizeInitializers(working.Graph);
        CopySharedWeightsIntoBodies(working.Graph, scopes);
        MakeBodyNamesUnique(working.Graph, scopes);
        var types = TensorTypeInference.Infer(working);
        var candidatesByScope = scopes.Select(scope => QdqPlan.Candidates(scope.Graph, types, [.. options.Exclude], warnings, OuterConstants(scope))).ToList();
        var candidates = candidatesByScope.SelectMany(c => c).ToList();
        if (candidates.Count == 0)
        {
            throw new NothingToQuantizeException($"int8-static: nothing to quantize: {QuantizationDiagnosis.Explain(model, ["Conv", "Gemm", "MatMul"], warnings)}");
        }
        WarnAboutRecurrentOps(scopes, warnings);

        IReadOnlyList<QdqPlan> Plans(IReadOnlyCollection<NodeProto> nodes) =>
            [.. scopes.Select((scope, i) => QdqPlan.Create(scope.Graph, types, [.. candidatesByScope[i].Where(nodes.Contains)]))];

        var full = Plans(candidates);
        var mainCandidates = candidatesByScope[0];
        // Channel means need the tensor's own layout; body tensors are observed flattened, so only the main graph's.
        var meansFor = options.BiasCorrection
            ? mainCandidates.Where(n => n.OpType is "Conv" or "Gemm").Select(n => n.Input[0]).ToHashSet()
            : [];
        var quantizedTensors = full.SelectMany(p => p.QuantizedTensors).Distinct().ToList();
        log?.Invoke($"calibrating {quantizedTensors.Count} tensors on {data.Description} ({options.Calibration.Method}){(scopes.Count > 1 ? $", {quantizedTensors.Count - full[0].QuantizedTensors.Count()} inside If/Loop/Scan bodies" : "")}");
        var exact = InputDerived(working.Graph).Intersect(quantizedTensors).ToHashSet();
        var calibration = ActivationCalibrator.Calibrate(working, quantizedTensors, data, options.Calibration, meansFor, exact, allowUnseen: true);
        if (calibration.Unseen.Count > 0)
        {
            // A branch the calibration data never took has no ranges: its nodes stay float, said per node.
            var unseen = calibration.Unseen.ToHashSet(StringComparer.Ordinal);
            var unreached = new List<NodeProto>();
            for (int i = 0; i < scopes.Count; i++)
            {
                foreach (var node in candidatesByScope[i].ToList())
                {
                    var alone = QdqPlan.Create(scopes[i].Graph, types, [node]);
                    if (alone.QuantizedTensors.Select(alone.ScaleSource).Append(node.Output[0]).Any(unseen.Contains))
                    {
                        candidatesByScope[i] = [.. candidatesByScope[i].Where(n => !ReferenceEquals(n, node))];
                        unreached.Add(node);
                        warnings.Add($"{node.OpType} '{node.Name}' in {scopes[i].Location} stays float: the calibration data never ran it");
                    }
                }
            }
            candidates = [.. candidatesByScope.SelectMany(c => c)];
            if (candidates.Count == 0)
            {
                throw new NothingToQuantizeException("int8-static: nothing to quantize: the calibration data never reached any quantizable node (give samples that take each If branch)");
            }
            full = Plans(candidates);
            var missing = full.SelectMany(p => p.QuantizedTensors).Select(t => full.First(p => p.QuantizedTensors.Contains(t)).ScaleSource(t)).Where(unseen.Contains).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidOperationException($"int8-static: tensors {string.Join(", ", missing.Take(5))} were never computed on the calibration data");
            }
        }
        foreach (string tensor in full.SelectMany(p => p.Calibrated).Distinct())
        {
            log?.Invoke($"  {tensor}: {calibration.Ranges[tensor]} (seen {calibration.Observed[tensor]})");
        }

        OnnxModel Build(IReadOnlyCollection<NodeProto> nodes) =>
            QdqBuilder.Build(working, Plans(nodes), calibration, reduced, perChannel, options.BiasCorrection);

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

        var excluded = scopes.SelectMany(scope => scope.Graph.Nodes).Where(n => options.Exclude.Contains(n.Name) || options.Exclude.Contains(n.OpType)).Select(n => n.Name);
        var applied = new List<string>
        {
            $"int8-static QDQ: {selected.Count} of {candidates.Count} nodes ({selected.Count(n => !mainCandidates.Contains(n))} inside If/Loop/Scan bodies), u8 activations per tensor, s8 weights {(perChannel ? "per channel" : "per tensor")}",
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
            QuantizedInSubgraphs = selected.Count(n => !mainCandidates.Contains(n)),
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

    private static void NameAllNodes(OnnxGraph main, IReadOnlyList<ScopedGraph> scopes)
    {
        var seen = new HashSet<string>();
        foreach (var node in scopes.SelectMany(scope => scope.Graph.Nodes))
        {
            if (node.Name.Length == 0 || !seen.Add(node.Name))
            {
                node.Name = main.UniqueName($"{node.OpType}_{node.Output.FirstOrDefault()}");
                seen.Add(node.Name);
            }
        }
        foreach (var scope in scopes)
        {
            scope.Graph.Invalidate();
        }
    }

    /// <summary>
    /// A weight several bodies read (the same layer used in both branches of an If) stays in the enclosing graph after
    /// localizing; each body that uses it as a Conv/Gemm/MatMul weight or bias gets its own copy under a new name, so its
    /// QDQ weight is written where it is read. The float original then has no reader and goes: the file holds one int8
    /// copy per body instead of one float32 copy.
    /// </summary>
    private static void CopySharedWeightsIntoBodies(OnnxGraph main, IReadOnlyList<ScopedGraph> scopes)
    {
        foreach (var scope in scopes.Where(s => !s.IsMain))
        {
            var copies = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var node in scope.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm" or "MatMul" && n.Domain is "" or "ai.onnx"))
            {
                for (int i = 1; i < Math.Min(node.Input.Count, node.OpType == "MatMul" ? 2 : 3); i++)
                {
                    string name = node.Input[i];
                    if (name.Length == 0 || scope.Graph.IsInitializer(name) || scope.InitializerOwner(name) is not { } owner
                        || (OnnxDataType)owner.FindInitializer(name)!.DataType != OnnxDataType.Float)
                    {
                        continue;
                    }
                    if (!copies.TryGetValue(name, out var copy))
                    {
                        copy = main.UniqueName($"{name}_in_{scope.AttributeName}");
                        var tensor = owner.FindInitializer(name)!.Clone();
                        tensor.Name = copy;
                        scope.Graph.AddInitializer(tensor);
                        copies[name] = copy;
                    }
                    node.Input[i] = copy;
                }
            }
            scope.Graph.Invalidate();
        }
        foreach (var scope in scopes)
        {
            scope.Graph.Invalidate();
        }
        // Outer originals nobody reads any more (innermost first).
        foreach (var scope in scopes.Reverse())
        {
            scope.Graph.RemoveUnusedInitializers();
        }
    }

    /// <summary>
    /// Calibration ranges are kept by tensor name, so a name may be defined in one graph only. Sibling bodies may
    /// legally reuse names (two Loop bodies both with an input "h"); such a body's own definitions are renamed in the
    /// working copy (its reads and outputs with them), which changes no value.
    /// </summary>
    private static void MakeBodyNamesUnique(OnnxGraph main, IReadOnlyList<ScopedGraph> scopes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var scope in scopes)
        {
            var proto = scope.Graph.Proto;
            var defined = proto.Input.Select(i => i.Name).Concat(proto.Node.SelectMany(n => n.Output)).Where(n => n.Length > 0).ToList();
            foreach (string name in defined)
            {
                if (seen.Add(name))
                {
                    continue;
                }
                string renamed = main.UniqueName(name);
                seen.Add(renamed);
                foreach (var input in proto.Input.Where(i => i.Name == name))
                {
                    input.Name = renamed;
                }
                foreach (var node in proto.Node)
                {
                    for (int i = 0; i < node.Output.Count; i++)
                    {
                        if (node.Output[i] == name)
                        {
                            node.Output[i] = renamed;
                        }
                    }
                }
                RenameReads(proto, name, renamed);
            }
            scope.Graph.Invalidate();
        }
    }

    /// <summary>Reads of <paramref name="from"/> in the graph, its outputs and nested bodies that do not define it themselves.</summary>
    private static void RenameReads(GraphProto graph, string from, string to)
    {
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == from)
                {
                    node.Input[i] = to;
                }
            }
            foreach (var nested in node.GetSubgraphs())
            {
                bool shadowed = nested.Input.Any(i => i.Name == from) || nested.Initializer.Any(i => i.Name == from) || nested.Node.Any(n => n.Output.Contains(from));
                if (!shadowed)
                {
                    RenameReads(nested, from, to);
                }
            }
        }
        foreach (var info in graph.Output.Concat(graph.ValueInfo).Where(o => o.Name == from))
        {
            info.Name = to;
        }
    }

    /// <summary>Names a body reads that are initializers of an enclosing graph.</summary>
    private static HashSet<string> OuterConstants(ScopedGraph scope) =>
        scope.IsMain
            ? []
            : [.. scope.Graph.Nodes.SelectMany(n => n.Input).Where(name => name.Length > 0 && scope.InitializerOwner(name) is { } owner && !ReferenceEquals(owner, scope.Graph))];

    private static void WarnAboutRecurrentOps(IReadOnlyList<ScopedGraph> scopes, List<string> warnings)
    {
        foreach (var scope in scopes)
        {
            foreach (var node in scope.Graph.Nodes.Where(n => n.OpType is "LSTM" or "GRU" or "RNN"))
            {
                warnings.Add($"{node.OpType} '{node.Name}' in {scope.Location} stays float: QDQ has no recurrent form in ONNX Runtime (int8-dynamic quantizes LSTM)");
            }
        }
    }
}
