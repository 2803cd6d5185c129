using EdgeRuntime.Compression.Calibration;
using EdgeRuntime.Compression.Distillation;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Structured channel pruning: channel groups from <see cref="ChannelDependencyGraph"/> lose their
/// least important channels physically (weights, biases, normalizations, constants and the consumers'
/// input columns shrink), group after group in graph order; after each group the consuming layers are
/// refitted to the teacher's outputs in dependency order (optionally BatchNormalization statistics
/// re-estimated), so later groups are ranked and refitted on the already-pruned model; a final pass
/// refits every layer below a pruned one (depthwise convolutions included) on the finished student's own inputs.
/// </summary>
public static class StructuredPruner
{
    public static PruneResult Prune(OnnxModel model, StructuredPruneOptions options, CalibrationData? data = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (options.NeedsCalibration && data is null)
        {
            throw new ArgumentException("structured pruning with the second-order criterion, reconstruction or BatchNorm re-estimation needs calibration data (--calib)");
        }
        // Weights held in Constant nodes (PaddlePaddle's exporter) must be initializers to be pruned.
        var teacher = model;
        if (model.Graph.Nodes.Any(n => n.OpType == "Constant"))
        {
            teacher = model.Clone();
            teacher.Graph.ConvertConstantNodes();
        }
        var student = teacher.Clone();
        var initial = ChannelDependencyGraph.Analyze(student);
        var leftAlone = initial.Blocked.Select(g => $"{g.Describe()}: {g.BlockedBecause}").ToList();
        var plan = initial.Prunable
            .Select(g => (Key: g.Producers[0].Name, Group: g, Ratio: RatioFor(g, options)))
            .Where(p => p.Ratio > 0 && !IsExcluded(p.Group, options))
            .ToList();
        var warnings = new List<string>();
        // Teacher channel index behind each channel the student's layer outputs still have.
        var keptOutputs = new Dictionary<string, int[]>(StringComparer.Ordinal);
        int totalChannels = initial.Groups.Sum(g => g.Channels), removedChannels = 0;
        int refitted = 0, renormalized = 0;
        var prunedProducers = new HashSet<string>(StringComparer.Ordinal);
        // Depthwise convolution -> output of the producer whose channels it carries (for the teacher channels).
        var depthwiseSources = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var (key, _, ratio) in plan)
        {
            var group = ChannelDependencyGraph.Analyze(student).Groups.FirstOrDefault(g => g.Producers[0].Name == key);
            if (group is null || !group.CanPrune)
            {
                warnings.Add($"group of {key} became unprunable after earlier edits: {group?.BlockedBecause ?? "not found"}; left alone");
                continue;
            }
            int keep = KeptChannels(group.Channels, ratio, options.MinChannels, options.RoundTo);
            if (keep == group.Channels)
            {
                continue;
            }
            var importance = Importance(student, group, options, data);
            int[] kept = [.. Enumerable.Range(0, group.Channels).OrderByDescending(c => importance[c]).Take(keep).Order()];
            Apply(student.Graph, group, kept);
            removedChannels += group.Channels - keep;
            foreach (var producer in group.Producers)
            {
                var previous = keptOutputs.GetValueOrDefault(producer.OutputName) ?? [.. Enumerable.Range(0, group.Channels)];
                keptOutputs[producer.OutputName] = [.. kept.Select(i => previous[i])];
            }
            log?.Invoke($"{group.Describe()}: kept {keep} channels");
            prunedProducers.UnionWith(group.Producers.Select(p => p.Name));
            foreach (var node in group.Depthwise)
            {
                depthwiseSources[NodeKey(node)] = group.Producers[0].OutputName;
            }
            if (options.Reconstruct)
            {
                refitted += RefitInOrder(student, teacher, [.. group.Consumers.Select(c => c.Layer.Name)], keptOutputs, data!, options);
            }
            if (options.ReestimateBatchNorm)
            {
                var mappings = group.Normalizations
                    .Where(n => n.Offset == 0 && student.Graph.GetInitializerData(n.Node.Input[3]).ElementCount == keep)
                    .Select(n => new NormalizationMapping(n.Node, TeacherChannels(group, keptOutputs)))
                    .ToList();
                renormalized += BatchNormReestimator.Reestimate(student, teacher, mappings, data!, options.WorkDirectory);
            }
        }
        int refittedDownstream = 0;
        if (options.Reconstruct && options.RefitDownstream && prunedProducers.Count > 0)
        {
            // Each group's refit only fixed its direct consumers; the error left there still compounds through
            // the layers below. One more pass in graph order refits every layer below a pruned one on the final
            // student's own inputs (normalizations are not re-estimated here, see ReestimateBatchNorm).
            var graph = student.Graph;
            var below = WeightLayer.FindAll(graph).Where(l => Upstream(graph, l.Node).Overlaps(prunedProducers)).Select(l => l.Name).ToList();
            if (options.RefitDepthwise)
            {
                below.AddRange(graph.Nodes.Where(n => DepthwiseReconstructor.IsDepthwise(graph, n) && Upstream(graph, n).Overlaps(prunedProducers)).Select(NodeKey));
            }
            refittedDownstream = RefitInOrder(student, teacher, below, keptOutputs, data!, options, depthwiseSources);
        }
        var problems = student.Graph.Validate();
        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"structured pruning produced an invalid graph: {string.Join("; ", problems.Take(3))}");
        }

        var applied = new List<string>
        {
            $"structured channel pruning: {removedChannels} of {totalChannels} channels removed in {plan.Count} group(s), ranked by {options.Criterion}",
        };
        if (options.Reconstruct)
        {
            applied.Add($"layer-wise least-squares reconstruction of {refitted} consuming layer(s) to the teacher's outputs, in dependency order on the student's own inputs");
            if (refittedDownstream > 0)
            {
                applied.Add($"final sequential refit of the {refittedDownstream} layer(s) below pruned ones{(options.RefitDepthwise ? ", depthwise convolutions included" : "")}");
            }
        }
        if (renormalized > 0)
        {
            applied.Add($"BatchNormalization statistics re-estimated for {renormalized} node(s)");
        }
        return new PruneResult(student, applied, warnings, Reports(teacher, student), ModelSparsity(student), 1.0 - (double)removedChannels / Math.Max(1, totalChannels))
        {
            LeftAlone = leftAlone,
        };
    }

    /// <summary>
    /// Refits the named layers by least squares to the teacher's outputs, in waves: a layer waits until every
    /// listed layer upstream of it has been refitted, so its statistics come from the inputs it will really get.
    /// </summary>
    /// <param name="depthwiseSources">Depthwise convolutions among <paramref name="names"/>: the producer output behind their channels.</param>
    private static int RefitInOrder(OnnxModel student, OnnxModel teacher, IReadOnlyList<string> names, Dictionary<string, int[]> keptOutputs, CalibrationData data, StructuredPruneOptions options,
        IReadOnlyDictionary<string, string>? depthwiseSources = null)
    {
        var graph = student.Graph;
        var pending = names.Distinct().ToList();
        var nodesByName = graph.Nodes.GroupBy(NodeKey).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var upstream = pending.ToDictionary(n => n, n => Upstream(graph, nodesByName[n]), StringComparer.Ordinal);
        int refitted = 0;
        while (pending.Count > 0)
        {
            var wave = pending.Where(n => !pending.Any(other => upstream[n].Contains(other))).ToList();
            // Views are taken afresh: earlier pruning changed the weights' shapes.
            var current = WeightLayer.FindAll(graph).ToDictionary(l => l.Name, StringComparer.Ordinal);
            var layers = wave.Where(current.ContainsKey).Select(n => current[n]).ToList();
            var depthwise = wave.Where(n => !current.ContainsKey(n))
                .Select(n => new DepthwiseRequest(nodesByName[n], depthwiseSources?.GetValueOrDefault(n) is { } source ? keptOutputs[source] : null))
                .ToList();
            refitted += DepthwiseReconstructor.Refit(student, teacher, depthwise, data, options.Damping, options.WorkDirectory);
            var requests = layers.Select(l => new LayerRequest(l, true, true, keptOutputs.GetValueOrDefault(l.OutputName))).ToList();
            var statistics = layers.Count == 0 ? [] : LayerStatistics.Collect(student, teacher, requests, data, options.WorkDirectory);
            for (int i = 0; i < layers.Count; i++)
            {
                LayerReconstructor.RefitDense(graph, layers[i], statistics[i], options.Damping, anchored: true);
            }
            refitted += layers.Count;
            pending.RemoveAll(wave.Contains);
        }
        return refitted;
    }

    private static string NodeKey(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output[0];

    /// <summary>Names (as <see cref="WeightLayer.Name"/> spells them) of every node that <paramref name="node"/> depends on.</summary>
    private static HashSet<string> Upstream(OnnxGraph graph, NodeProto node)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var visited = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<NodeProto>([node]);
        while (stack.Count > 0)
        {
            foreach (string input in stack.Pop().Input)
            {
                if (input.Length > 0 && graph.GetProducer(input) is { } producer && visited.Add(producer))
                {
                    seen.Add(NodeKey(producer));
                    stack.Push(producer);
                }
            }
        }
        return seen;
    }

    /// <summary>
    /// Channels a group of <paramref name="channels"/> keeps at <paramref name="ratio"/>: rounded to the nearest
    /// multiple of <paramref name="roundTo"/> (ties up, so fewer are removed), at least one multiple and at
    /// least <paramref name="minChannels"/>, never more than the group has; a group of fewer channels than
    /// one multiple keeps them all (any smaller count would be just as unaligned and lose accuracy for nothing).
    /// </summary>
    public static int KeptChannels(int channels, double ratio, int minChannels, int roundTo = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(roundTo, 1);
        int keep = Math.Clamp(channels - (int)Math.Round(channels * ratio), Math.Min(minChannels, channels), channels);
        if (roundTo == 1 || keep == channels)
        {
            return keep;
        }
        if (channels < roundTo)
        {
            return channels;
        }
        int rounded = (int)Math.Round(keep / (double)roundTo, MidpointRounding.AwayFromZero) * roundTo;
        rounded = Math.Max(rounded, roundTo);
        while (rounded < minChannels)
        {
            rounded += roundTo;
        }
        return Math.Min(rounded, channels);
    }

    private static bool IsExcluded(ChannelGroup group, StructuredPruneOptions options) =>
        group.Producers.Any(p => options.Exclude.Contains(p.Name) || options.Exclude.Contains(p.OpType));

    private static double RatioFor(ChannelGroup group, StructuredPruneOptions options)
    {
        foreach (var producer in group.Producers)
        {
            if (options.GroupRatios.TryGetValue(producer.Name, out double ratio))
            {
                return ratio;
            }
        }
        return options.Ratio;
    }

    private static int[] TeacherChannels(ChannelGroup group, Dictionary<string, int[]> keptOutputs) =>
        keptOutputs[group.Producers[0].OutputName];

    /// <summary>Importance of each channel of the group; higher is kept.</summary>
    internal static double[] Importance(OnnxModel student, ChannelGroup group, StructuredPruneOptions options, CalibrationData? data)
    {
        var graph = student.Graph;
        var importance = new double[group.Channels];
        if (options.Criterion != ImportanceCriterion.SecondOrder || group.Consumers.Count == 0)
        {
            foreach (var producer in group.Producers)
            {
                var w = producer.ReadMatrix(graph);
                int n = producer.Columns;
                for (int c = 0; c < group.Channels; c++)
                {
                    var row = w.AsSpan(c * n, n);
                    double value = 0;
                    foreach (float v in row)
                    {
                        value += options.Criterion == ImportanceCriterion.L1 ? Math.Abs(v) : v * (double)v;
                    }
                    importance[c] += options.Criterion == ImportanceCriterion.L2 ? Math.Sqrt(value) : value;
                }
            }
            return importance;
        }
        // Removing channel c deletes the consumers' columns it feeds: the error that adds to their outputs
        // is, to second order, sum over those columns j of ||W[:, j]||^2 · E[x_j^2].
        var consumers = group.Consumers.Select(c => c.Layer).DistinctBy(l => l.Node.Name).ToList();
        var statistics = LayerStatistics.Collect(student, null, [.. consumers.Select(l => new LayerRequest(l, false, false))], data!, options.WorkDirectory);
        foreach (var consumer in group.Consumers)
        {
            int index = consumers.FindIndex(l => l.Node.Name == consumer.Layer.Node.Name);
            var layer = consumers[index];
            var gram = statistics[index];
            var w = layer.ReadMatrix(graph);
            int n = layer.Columns;
            int perChannel = layer.OpType == "Conv" ? (int)(layer.WeightDims[2] * layer.WeightDims[3]) : consumer.Block;
            int offset = layer.OpType == "Conv" ? consumer.Offset * perChannel : consumer.Offset;
            for (int c = 0; c < group.Channels; c++)
            {
                double value = 0;
                for (int t = 0; t < perChannel; t++)
                {
                    int j = offset + c * perChannel + t;
                    double energy = gram.Gram[j * gram.Dimension + j] / Math.Max(1, gram.Rows);
                    double norm = 0;
                    for (int o = 0; o < layer.Outputs; o++)
                    {
                        norm += w[o * n + j] * (double)w[o * n + j];
                    }
                    value += norm * energy;
                }
                importance[c] += value;
            }
        }
        return importance;
    }

    /// <summary>Removes every channel not in <paramref name="kept"/> from all tensors of the group.</summary>
    internal static void Apply(OnnxGraph graph, ChannelGroup group, IReadOnlyList<int> kept)
    {
        var keptSet = kept.ToHashSet();
        var removed = new Dictionary<(string Tensor, int Axis), HashSet<long>>();
        foreach (var slice in group.Slices)
        {
            int rank = graph.FindInitializer(slice.Initializer)!.Dims.Count;
            int axis = slice.Axis < 0 ? slice.Axis + rank : slice.Axis;
            if (!removed.TryGetValue((slice.Initializer, axis), out var set))
            {
                removed[(slice.Initializer, axis)] = set = [];
            }
            for (int c = 0; c < group.Channels; c++)
            {
                if (keptSet.Contains(c))
                {
                    continue;
                }
                for (int t = 0; t < slice.Block; t++)
                {
                    set.Add(slice.Offset + (long)c * slice.Block + t);
                }
            }
        }
        foreach (var ((tensor, axis), indices) in removed)
        {
            graph.SetInitializer(tensor, Slice(graph.GetInitializerData(tensor), axis, indices));
        }
        foreach (var node in group.Depthwise)
        {
            node.SetInt("group", graph.FindInitializer(node.Input[1])!.Dims[0]);
        }
        // Declared intermediate shapes are stale now; ONNX Runtime infers them again.
        graph.ValueInfos.Clear();
        graph.Invalidate();
    }

    private static TensorData Slice(TensorData data, int axis, HashSet<long> removed)
    {
        var values = data.ToFloatArray();
        long[] dims = [.. data.Dims];
        long outer = dims.Take(axis).Aggregate(1L, (a, b) => a * b);
        long inner = dims.Skip(axis + 1).Aggregate(1L, (a, b) => a * b);
        long size = dims[axis];
        var keep = Enumerable.Range(0, (int)size).Where(i => !removed.Contains(i)).ToArray();
        var result = new float[outer * keep.Length * inner];
        long k = 0;
        for (long o = 0; o < outer; o++)
        {
            foreach (int index in keep)
            {
                Array.Copy(values, (o * size + index) * inner, result, k, inner);
                k += inner;
            }
        }
        dims[axis] = keep.Length;
        if (data.DataType != OnnxDataType.Float)
        {
            throw new NotSupportedException($"only float tensors are sliced; this one is {OnnxDataTypes.Name(data.DataType)}");
        }
        return TensorData.Create(result, dims);
    }

    private static List<LayerPruneReport> Reports(OnnxModel teacher, OnnxModel student)
    {
        var before = WeightLayer.FindAll(teacher.Graph).ToDictionary(l => l.Node.Name);
        return [.. WeightLayer.FindAll(student.Graph).Select(l =>
        {
            var w = l.ReadMatrix(student.Graph);
            var original = before.GetValueOrDefault(l.Node.Name);
            return new LayerPruneReport(l.Name, l.OpType, w.Length, w.LongCount(v => v == 0f), original?.Outputs ?? l.Outputs, l.Outputs, original?.Columns ?? l.Columns, l.Columns);
        })];
    }

    private static double ModelSparsity(OnnxModel model) => Packing.ModelFacts.WeightSparsity(model.Graph);
}
