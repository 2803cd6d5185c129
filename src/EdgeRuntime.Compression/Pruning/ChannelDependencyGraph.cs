using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// Finds which output channels can be removed and what else must change with them. Channels are
/// followed forward from each producing layer (Conv, Gemm, MatMul with constant weights) through ops
/// that keep channels apart (activations, pooling, BatchNormalization, per-channel constants,
/// depthwise Conv, Concat at an offset, Flatten into feature blocks) to the layers that consume them;
/// residual additions tie the channels of their operands into one group. Anything else that reads
/// the channels (reshapes, transposes, normalizations across channels, graph outputs, subgraphs)
/// blocks the group, which is then left alone and reported, never broken.
/// </summary>
public sealed class ChannelDependencyGraph
{
    private static readonly HashSet<string> Unary =
    [
        "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus", "Softsign",
        "Erf", "Identity", "Dropout", "Neg", "Abs", "Exp", "Sqrt", "Reciprocal", "Gelu", "Mish", "Celu", "ThresholdedRelu",
    ];

    private static readonly HashSet<string> SpatialPools = ["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool"];

    private static readonly HashSet<string> Elementwise = ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Sum"];

    private ChannelDependencyGraph(IReadOnlyList<ChannelGroup> groups) => Groups = groups;

    public IReadOnlyList<ChannelGroup> Groups { get; }

    public IEnumerable<ChannelGroup> Prunable => Groups.Where(g => g.CanPrune);

    public IEnumerable<ChannelGroup> Blocked => Groups.Where(g => !g.CanPrune);

    public static ChannelDependencyGraph Analyze(OnnxModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new Analysis(model).Run();
    }

    private sealed record Segment(int Root, int Offset, int Block);

    private sealed record Space(IReadOnlyList<Segment> Segments, int Axis, int Rank);

    private sealed class Analysis(OnnxModel model)
    {
        private readonly OnnxGraph _graph = model.Graph;
        private readonly List<WeightLayer> _roots = [];
        private readonly List<int> _parent = [];
        private readonly Dictionary<int, string> _poison = [];
        private readonly Dictionary<int, (List<SliceAction> Slices, List<ChannelConsumer> Consumers, List<NormalizationUse> Norms, List<NodeProto> Depthwise)> _actions = [];
        private readonly Dictionary<string, Space> _spaces = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long[]> _constants = new(StringComparer.Ordinal);
        private IReadOnlyDictionary<string, long[]> _shapes = new Dictionary<string, long[]>();

        public ChannelDependencyGraph Run()
        {
            try
            {
                _shapes = MacCounter.Count(model).Shapes;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Without shapes, Flatten and Concat are not analysable; everything else still is.
            }
            foreach (var initializer in _graph.Initializers)
            {
                _constants[initializer.Name] = [.. initializer.Dims];
            }
            var absorbed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
            foreach (var node in _graph.TopologicalOrder())
            {
                if (absorbed.Contains(node))
                {
                    continue;
                }
                Visit(node, absorbed);
            }
            foreach (var output in _graph.Outputs)
            {
                if (_spaces.TryGetValue(output.Name, out var space))
                {
                    Poison(space, $"its channels reach graph output '{output.Name}'");
                }
            }
            return new ChannelDependencyGraph(BuildGroups());
        }

        private void Visit(NodeProto node, HashSet<NodeProto> absorbed)
        {
            foreach (string read in _graph.GetSubgraphReads(node))
            {
                if (_spaces.TryGetValue(read, out var inner))
                {
                    Poison(inner, $"read inside a subgraph of {Describe(node)}");
                }
            }
            if (node.OpType == "Constant" && node.GetTensor("value") is { } value)
            {
                _constants[node.Output[0]] = [.. value.Dims];
                return;
            }
            var layer = WeightLayer.TryCreate(_graph, node, out _);
            if (layer is not null)
            {
                VisitLayer(node, layer, absorbed);
                return;
            }
            var tracked = node.Input.Where(i => i.Length > 0 && _spaces.ContainsKey(i)).ToList();
            if (tracked.Count == 0)
            {
                return;
            }
            var first = _spaces[tracked[0]];
            switch (node.OpType)
            {
                case "Conv" when IsDepthwise(node, first):
                    foreach (var segment in first.Segments)
                    {
                        var actions = _actions[segment.Root];
                        actions.Slices.Add(new SliceAction(node.Input[1], 0, segment.Offset, 1));
                        if (node.Input.Count > 2 && node.Input[2].Length > 0)
                        {
                            actions.Slices.Add(new SliceAction(node.Input[2], -1, segment.Offset, 1));
                        }
                        actions.Depthwise.Add(node);
                    }
                    _spaces[node.Output[0]] = first;
                    return;
                case "BatchNormalization" when first.Axis == 1 && node.Input[0] == tracked[0] && node.Input.Skip(1).All(_graph.IsInitializer):
                    foreach (var segment in first.Segments)
                    {
                        var actions = _actions[segment.Root];
                        for (int i = 1; i < node.Input.Count; i++)
                        {
                            actions.Slices.Add(new SliceAction(node.Input[i], -1, segment.Offset, segment.Block));
                        }
                        actions.Norms.Add(new NormalizationUse(node, segment.Offset));
                    }
                    _spaces[node.Output[0]] = first;
                    return;
                case var op when Unary.Contains(op) && node.Input[0] == tracked[0] && tracked.Count == 1 && node.Input.Skip(1).All(i => i.Length == 0 || IsScalarConstant(i)):
                    _spaces[node.Output[0]] = first;
                    return;
                case var op when SpatialPools.Contains(op) && first.Axis == 1 && first.Segments.All(s => s.Block == 1):
                    _spaces[node.Output[0]] = first;
                    return;
                case "Resize" or "Upsample" when first.Axis == 1 && tracked.Count == 1 && node.Input[0] == tracked[0] && KeepsChannels(node):
                    // Spatial resampling (an FPN's upsampling) moves no channel.
                    _spaces[node.Output[0]] = first;
                    return;
                case var op when Elementwise.Contains(op):
                    VisitElementwise(node, tracked);
                    return;
                case "Concat":
                    VisitConcat(node, tracked);
                    return;
                case "Flatten" when first.Axis == 1 && first.Rank == 4 && node.GetInt("axis", 1) == 1 && _shapes.TryGetValue(node.Input[0], out var shape) && shape.Length == 4:
                {
                    int plane = (int)(shape[2] * shape[3]);
                    _spaces[node.Output[0]] = new Space([.. first.Segments.Select(s => new Segment(s.Root, s.Offset * plane, s.Block * plane))], 1, 2);
                    return;
                }
                default:
                    foreach (string input in tracked)
                    {
                        Poison(_spaces[input], $"read by {Describe(node)}, which mixes or moves channels");
                    }
                    return;
            }
        }

        private void VisitLayer(NodeProto node, WeightLayer layer, HashSet<NodeProto> absorbed)
        {
            if (_spaces.TryGetValue(layer.InputName, out var input))
            {
                bool fits = layer.OpType switch
                {
                    "Conv" => input.Axis == 1 && input.Rank == 4 && input.Segments.All(s => s.Block == 1),
                    "Gemm" => input.Rank == 2 && input.Axis == 1,
                    _ => input.Axis == input.Rank - 1,
                };
                if (!fits)
                {
                    Poison(input, $"read by {Describe(node)} along another axis");
                }
                else
                {
                    int axis = layer.OpType == "Conv" ? 1 : layer.Transposed ? 0 : 1;
                    foreach (var segment in input.Segments)
                    {
                        var actions = _actions[segment.Root];
                        actions.Slices.Add(new SliceAction(layer.WeightName, axis, segment.Offset, segment.Block));
                        actions.Consumers.Add(new ChannelConsumer(layer, segment.Offset, segment.Block));
                    }
                }
            }
            foreach (string other in node.Input.Skip(1).Where(_spaces.ContainsKey))
            {
                Poison(_spaces[other], $"used as a weight by {Describe(node)}");
            }
            int root = AddRoot(layer);
            var own = _actions[root];
            own.Slices.Add(new SliceAction(layer.WeightName, layer.OpType == "Conv" ? 0 : layer.Transposed ? 1 : 0, 0, 1));
            if (layer.BiasName is not null)
            {
                own.Slices.Add(new SliceAction(layer.BiasName, -1, 0, 1));
            }
            if (layer.OutputName != node.Output[0])
            {
                absorbed.Add(_graph.GetConsumers(node.Output[0])[0]);
            }
            int rank = layer.OpType switch
            {
                "Conv" => 4,
                "Gemm" => 2,
                _ => _shapes.TryGetValue(layer.OutputName, out var shape) ? shape.Length : -1,
            };
            var space = new Space([new Segment(root, 0, 1)], rank - 1, rank);
            if (layer.OpType == "Conv")
            {
                space = space with { Axis = 1 };
            }
            if (rank < 2)
            {
                _poison.TryAdd(root, "the rank of its output is unknown");
            }
            _spaces[layer.OutputName] = space;
        }

        private void VisitElementwise(NodeProto node, List<string> tracked)
        {
            var first = _spaces[tracked[0]];
            foreach (string input in node.Input.Where(i => i.Length > 0 && !tracked.Contains(i)))
            {
                if (!_constants.TryGetValue(input, out var dims))
                {
                    Poison(first, $"added to '{input}' by {Describe(node)}, which is not traced to a prunable layer");
                    return;
                }
                long count = dims.Aggregate(1L, (a, b) => a * b);
                if (count == 1)
                {
                    continue;
                }
                int position = first.Axis - (first.Rank - dims.Length);
                bool perChannel = position >= 0 && dims.Where((d, i) => i != position).All(d => d == 1)
                    && _shapes.TryGetValue(tracked[0], out var shape) && shape.Length == first.Rank && dims[position] == shape[first.Axis];
                if (!perChannel || !_graph.IsInitializer(input) || _graph.GetUses(input).Count != 1)
                {
                    Poison(first, $"combined by {Describe(node)} with constant '{input}' of shape [{string.Join(",", dims)}], which is not a private per-channel vector");
                    return;
                }
                foreach (var segment in first.Segments)
                {
                    _actions[segment.Root].Slices.Add(new SliceAction(input, position, segment.Offset, segment.Block));
                }
            }
            foreach (string other in tracked.Skip(1))
            {
                var second = _spaces[other];
                if (second.Axis != first.Axis || second.Rank != first.Rank || second.Segments.Count != first.Segments.Count
                    || first.Segments.Zip(second.Segments).Any(p => p.First.Offset != p.Second.Offset || p.First.Block != p.Second.Block
                        || _roots[p.First.Root].Outputs != _roots[p.Second.Root].Outputs))
                {
                    Poison(first, $"combined by {Describe(node)} with channels laid out differently");
                    Poison(second, $"combined by {Describe(node)} with channels laid out differently");
                    return;
                }
                foreach (var (a, b) in first.Segments.Zip(second.Segments))
                {
                    Union(a.Root, b.Root);
                }
            }
            _spaces[node.Output[0]] = first;
        }

        private void VisitConcat(NodeProto node, List<string> tracked)
        {
            var first = _spaces[tracked[0]];
            long axis = node.GetInt("axis", 1);
            if (axis < 0)
            {
                axis += first.Rank;
            }
            if (axis != first.Axis || tracked.Any(t => _spaces[t].Axis != first.Axis || _spaces[t].Rank != first.Rank))
            {
                foreach (string input in tracked)
                {
                    Poison(_spaces[input], $"concatenated by {Describe(node)} along a non-channel axis");
                }
                return;
            }
            var segments = new List<Segment>();
            int offset = 0;
            foreach (string input in node.Input)
            {
                if (!_shapes.TryGetValue(input, out var shape) || shape.Length != first.Rank)
                {
                    foreach (string t in tracked)
                    {
                        Poison(_spaces[t], $"concatenated by {Describe(node)} with an input of unknown shape");
                    }
                    return;
                }
                if (_spaces.TryGetValue(input, out var space))
                {
                    segments.AddRange(space.Segments.Select(s => s with { Offset = s.Offset + offset }));
                }
                offset += (int)shape[axis];
            }
            _spaces[node.Output[0]] = new Space(segments, first.Axis, first.Rank);
        }

        private bool IsDepthwise(NodeProto node, Space input)
        {
            long group = node.GetInt("group", 1);
            if (group <= 1 || input.Axis != 1 || input.Segments.Any(s => s.Block != 1) || node.Input.Count < 2
                || _graph.FindInitializer(node.Input[1]) is not { } weight || weight.Dims.Count != 4)
            {
                return false;
            }
            return weight.Dims[0] == group && weight.Dims[1] == 1
                && _shapes.TryGetValue(node.Input[0], out var shape) && shape.Length == 4 && shape[1] == group;
        }

        /// <summary>Whether a Resize/Upsample scales by constant factors of 1 on the batch and channel axes (output sizes given as a tensor name the channel count: not analysed).</summary>
        private bool KeepsChannels(NodeProto node)
        {
            int scalesIndex = node.OpType == "Upsample" || (node.OpType == "Resize" && node.Input.Count == 2) ? 1 : 2;
            if (node.OpType == "Resize" && node.Input.Count > 3 && node.Input[3].Length > 0)
            {
                return false;
            }
            if (node.Input.Count <= scalesIndex || !_graph.IsInitializer(node.Input[scalesIndex]))
            {
                return false;
            }
            var scales = _graph.GetInitializerData(node.Input[scalesIndex]).ToFloatArray();
            return scales.Length >= 2 && scales[0] == 1f && scales[1] == 1f;
        }

        private bool IsScalarConstant(string name) => _constants.TryGetValue(name, out var dims) && dims.Aggregate(1L, (a, b) => a * b) == 1;

        private int AddRoot(WeightLayer layer)
        {
            int id = _roots.Count;
            _roots.Add(layer);
            _parent.Add(id);
            _actions[id] = ([], [], [], []);
            return id;
        }

        private int Find(int root)
        {
            while (_parent[root] != root)
            {
                _parent[root] = _parent[_parent[root]];
                root = _parent[root];
            }
            return root;
        }

        private void Union(int a, int b)
        {
            int ra = Find(a), rb = Find(b);
            if (ra != rb)
            {
                _parent[Math.Max(ra, rb)] = Math.Min(ra, rb);
            }
        }

        private void Poison(Space space, string reason)
        {
            foreach (var segment in space.Segments)
            {
                _poison.TryAdd(segment.Root, reason);
            }
        }

        private List<ChannelGroup> BuildGroups()
        {
            var groups = new List<ChannelGroup>();
            foreach (var members in Enumerable.Range(0, _roots.Count).GroupBy(Find).OrderBy(g => g.Key))
            {
                var producers = members.Select(m => _roots[m]).ToList();
                var group = new ChannelGroup(groups.Count, producers[0].Outputs, producers);
                foreach (int member in members)
                {
                    var actions = _actions[member];
                    group.Slices.AddRange(actions.Slices);
                    group.Consumers.AddRange(actions.Consumers);
                    group.Normalizations.AddRange(actions.Norms);
                    group.Depthwise.AddRange(actions.Depthwise.Where(d => !group.Depthwise.Contains(d)));
                    if (_poison.TryGetValue(member, out var reason))
                    {
                        group.BlockedBecause ??= $"{_roots[member].Name}: {reason}";
                    }
                }
                if (producers.Any(p => p.Outputs != group.Channels))
                {
                    group.BlockedBecause ??= "tied layers have different channel counts";
                }
                var sliced = group.Slices.GroupBy(s => s.Initializer);
                foreach (var tensor in sliced)
                {
                    int users = _graph.GetUses(tensor.Key).Select(u => u.Node).Distinct(ReferenceEqualityComparer.Instance).Count();
                    if (users > 1)
                    {
                        group.BlockedBecause ??= $"initializer '{tensor.Key}' is shared by {users} nodes";
                    }
                    if (_graph.IsGraphOutput(tensor.Key))
                    {
                        group.BlockedBecause ??= $"initializer '{tensor.Key}' is a graph output";
                    }
                }
                if (group.Channels < 2)
                {
                    group.BlockedBecause ??= "a single channel";
                }
                groups.Add(group);
            }
            return groups;
        }

        private static string Describe(NodeProto node) => $"{node.OpType} '{(node.Name.Length > 0 ? node.Name : node.Output[0])}'";
    }
}
