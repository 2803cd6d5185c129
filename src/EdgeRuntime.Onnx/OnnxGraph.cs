using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// A graph with the lookups that rewriting passes need: who produces a tensor, who reads it
/// (including reads from inside If/Loop/Scan bodies), initializers by name, ordering and
/// validation. It wraps a <see cref="GraphProto"/> and edits it in place.
/// </summary>
/// <remarks>
/// Lookups use an index that is rebuilt lazily after any edit made through this class. Code
/// that edits <see cref="NodeProto"/> inputs or outputs directly must call
/// <see cref="Invalidate"/> afterwards (adding or removing nodes through
/// <see cref="Proto"/> is noticed automatically).
/// </remarks>
public sealed class OnnxGraph
{
    private GraphIndex? _index;
    private HashSet<string>? _takenNames;
    private (int Nodes, int Initializers, int Inputs) _takenNamesBuiltFor;
    private readonly HashSet<string> _handedOutNames = new(StringComparer.Ordinal);

    public OnnxGraph(GraphProto proto, string? externalDataDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(proto);
        Proto = proto;
        ExternalDataDirectory = externalDataDirectory;
    }

    public GraphProto Proto { get; }

    public string Name
    {
        get => Proto.Name;
        set => Proto.Name = value;
    }

    /// <summary>Where tensors stored as external data are looked up (the model file's directory).</summary>
    public string? ExternalDataDirectory { get; set; }

    /// <summary>Nodes in stored order; edit them with the methods of this class.</summary>
    public IReadOnlyList<NodeProto> Nodes => Proto.Node;

    public IList<ValueInfoProto> Inputs => Proto.Input;

    public IList<ValueInfoProto> Outputs => Proto.Output;

    public IList<ValueInfoProto> ValueInfos => Proto.ValueInfo;

    public IReadOnlyList<TensorProto> Initializers => Proto.Initializer;

    /// <summary>Graph inputs a caller must feed: those that are not also initializers.</summary>
    public IEnumerable<ValueInfoProto> RuntimeInputs
    {
        get
        {
            foreach (var input in Proto.Input)
            {
                if (!IsInitializer(input.Name))
                {
                    yield return input;
                }
            }
        }
    }

    // ---- nodes ----

    public NodeProto AddNode(NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        Proto.Node.Add(node);
        Invalidate();
        return node;
    }

    /// <summary>Appends a new node; without a name it gets a unique one derived from the op type.</summary>
    public NodeProto AddNode(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string? name = null, string domain = "") =>
        AddNode(GraphNodes.Create(opType, inputs, outputs, name ?? UniqueName(opType), domain));

    public NodeProto InsertNode(int index, NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        Proto.Node.Insert(index, node);
        Invalidate();
        return node;
    }

    /// <summary>Position of this exact node object (protobuf equality would match any identical node).</summary>
    public int IndexOf(NodeProto node)
    {
        for (int i = 0; i < Proto.Node.Count; i++)
        {
            if (ReferenceEquals(Proto.Node[i], node))
            {
                return i;
            }
        }

        return -1;
    }

    public bool RemoveNode(NodeProto node)
    {
        int index = IndexOf(node);
        if (index < 0)
        {
            return false;
        }

        RemoveNodeAt(index);
        return true;
    }

    public void RemoveNodeAt(int index)
    {
        Proto.Node.RemoveAt(index);
        Invalidate();
    }

    public void SetNodeInput(NodeProto node, int inputIndex, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(node);
        node.Input[inputIndex] = tensorName;
        Invalidate();
    }

    public void SetNodeOutput(NodeProto node, int outputIndex, string tensorName)
    {
        ArgumentNullException.ThrowIfNull(node);
        node.Output[outputIndex] = tensorName;
        Invalidate();
    }

    /// <summary>
    /// Makes readers of <paramref name="oldName"/> read <paramref name="newName"/> instead, including
    /// reads inside subgraphs; graph outputs are left alone. Returns how many reads were changed.
    /// </summary>
    /// <param name="where">Which uses to rewire; all when null.</param>
    public int ReplaceUses(string oldName, string newName, Func<TensorUse, bool>? where = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(oldName);
        ArgumentException.ThrowIfNullOrEmpty(newName);
        int replaced = 0;
        foreach (var use in GetUses(oldName))
        {
            if (where is not null && !where(use))
            {
                continue;
            }

            if (use.IsSubgraphUse)
            {
                foreach (var subgraph in use.Node.GetSubgraphs())
                {
                    replaced += SubgraphReferences.RenameOuterReads(subgraph, oldName, newName);
                }
            }
            else
            {
                use.Node.Input[use.InputIndex] = newName;
                replaced++;
            }
        }

        Invalidate();
        return replaced;
    }

    /// <summary>Forgets cached lookups; call after editing node inputs or outputs directly.</summary>
    public void Invalidate()
    {
        _index = null;
        _takenNames = null;
    }

    // ---- initializers and value infos ----

    public TensorProto? FindInitializer(string name) => Index.Initializers.GetValueOrDefault(name);

    public bool IsInitializer(string name) => Index.Initializers.ContainsKey(name);

    /// <summary>Decodes an initializer; throws <see cref="KeyNotFoundException"/> when there is none of that name.</summary>
    public TensorData GetInitializerData(string name) =>
        TensorData.FromProto(
            FindInitializer(name) ?? throw new KeyNotFoundException($"Graph '{Name}' has no initializer named '{name}'."),
            ExternalDataDirectory);

    /// <summary>Adds a new initializer; throws if the name is already an initializer.</summary>
    public TensorProto AddInitializer(TensorProto tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentException.ThrowIfNullOrEmpty(tensor.Name);
        if (IsInitializer(tensor.Name))
        {
            throw new InvalidOperationException($"Graph '{Name}' already has an initializer named '{tensor.Name}'.");
        }

        Proto.Initializer.Add(tensor);
        Invalidate();
        return tensor;
    }

    /// <summary>Replaces the initializer of that name in place (keeping its position) or adds it.</summary>
    public TensorProto SetInitializer(string name, TensorData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var tensor = data.ToProto(name);
        for (int i = 0; i < Proto.Initializer.Count; i++)
        {
            if (Proto.Initializer[i].Name == name)
            {
                Proto.Initializer[i] = tensor;
                Invalidate();
                return tensor;
            }
        }

        return AddInitializer(tensor);
    }

    public bool RemoveInitializer(string name)
    {
        for (int i = 0; i < Proto.Initializer.Count; i++)
        {
            if (Proto.Initializer[i].Name == name)
            {
                Proto.Initializer.RemoveAt(i);
                Invalidate();
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Removes initializers nothing reads (node inputs, subgraph reads and graph outputs all
    /// count as reads), together with their graph-input entries from pre-IR4 models.
    /// Returns the removed names.
    /// </summary>
    public IReadOnlyList<string> RemoveUnusedInitializers()
    {
        var removed = new List<string>();
        var index = Index;
        foreach (var initializer in Proto.Initializer)
        {
            if (!index.Uses.ContainsKey(initializer.Name) && !IsGraphOutput(initializer.Name))
            {
                removed.Add(initializer.Name);
            }
        }

        if (removed.Count == 0)
        {
            return removed;
        }

        var removedSet = new HashSet<string>(removed, StringComparer.Ordinal);
        for (int i = Proto.Initializer.Count - 1; i >= 0; i--)
        {
            if (removedSet.Contains(Proto.Initializer[i].Name))
            {
                Proto.Initializer.RemoveAt(i);
            }
        }

        for (int i = Proto.Input.Count - 1; i >= 0; i--)
        {
            if (removedSet.Contains(Proto.Input[i].Name))
            {
                Proto.Input.RemoveAt(i);
            }
        }

        Invalidate();
        return removed;
    }

    /// <summary>The declared type of a tensor from the graph inputs, outputs or value infos.</summary>
    public ValueInfoProto? FindValueInfo(string name)
    {
        foreach (var list in new[] { Proto.Input, Proto.Output, Proto.ValueInfo })
        {
            foreach (var info in list)
            {
                if (info.Name == name)
                {
                    return info;
                }
            }
        }

        return null;
    }

    public bool IsGraphInput(string name) => Proto.Input.Any(input => input.Name == name);

    public bool IsGraphOutput(string name) => Proto.Output.Any(output => output.Name == name);

    // ---- lookups ----

    /// <summary>The node that outputs the tensor, or null for graph inputs, initializers and unknown names.</summary>
    public NodeProto? GetProducer(string tensorName) => Index.Producers.GetValueOrDefault(tensorName);

    /// <summary>Every read of the tensor, in node order; subgraph reads have input index -1.</summary>
    public IReadOnlyList<TensorUse> GetUses(string tensorName) =>
        Index.Uses.TryGetValue(tensorName, out var uses) ? uses : [];

    /// <summary>Nodes that read the tensor, each once, including nodes whose subgraphs read it.</summary>
    public IReadOnlyList<NodeProto> GetConsumers(string tensorName)
    {
        var uses = GetUses(tensorName);
        var consumers = new List<NodeProto>(uses.Count);
        foreach (var use in uses)
        {
            if (consumers.Count == 0 || !ReferenceEquals(consumers[^1], use.Node))
            {
                consumers.Add(use.Node);
            }
        }

        return consumers;
    }

    /// <summary>True when a node or subgraph reads the tensor or it is a graph output.</summary>
    public bool IsUsed(string tensorName) => Index.Uses.ContainsKey(tensorName) || IsGraphOutput(tensorName);

    /// <summary>Outer-scope names that the node's subgraphs read without them being node inputs.</summary>
    public IReadOnlySet<string> GetSubgraphReads(NodeProto node) =>
        Index.SubgraphReads.TryGetValue(node, out var names) ? names : new HashSet<string>();

    /// <summary>Wrappers over the node's If/Loop/Scan bodies, sharing this graph's external data directory.</summary>
    public IEnumerable<OnnxGraph> GetSubgraphs(NodeProto node) =>
        node.GetSubgraphs().Select(graph => new OnnxGraph(graph, ExternalDataDirectory));

    // ---- whole-graph operations ----

    /// <summary>
    /// Nodes ordered so every producer precedes its consumers, keeping the stored order where
    /// possible. Throws <see cref="InvalidOperationException"/> naming the nodes of a cycle.
    /// </summary>
    public IReadOnlyList<NodeProto> TopologicalOrder()
    {
        if (!NodeOrdering.TrySort(Proto.Node, out var order, out var cycle))
        {
            throw new InvalidOperationException(NodeOrdering.DescribeCycle(Name, cycle, Proto.Node.Count - order.Count));
        }

        return order;
    }

    /// <summary>Stores the nodes in topological order, as the ONNX spec requires.</summary>
    public void SortTopologically()
    {
        var order = TopologicalOrder();
        Proto.Node.Clear();
        Proto.Node.AddRange(order);
        Invalidate();
    }

    /// <summary>
    /// A name not used for any tensor, node or graph here or in subgraphs and not handed out
    /// before: <paramref name="baseName"/> itself when free, otherwise baseName_1, baseName_2, ...
    /// </summary>
    public string UniqueName(string baseName)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseName);
        var counts = (Proto.Node.Count, Proto.Initializer.Count, Proto.Input.Count);
        if (_takenNames is null || _takenNamesBuiltFor != counts)
        {
            _takenNames = new HashSet<string>(StringComparer.Ordinal);
            SubgraphReferences.CollectAllNames(Proto, _takenNames);
            _takenNamesBuiltFor = counts;
        }

        string candidate = baseName;
        for (int suffix = 1; _takenNames.Contains(candidate) || _handedOutNames.Contains(candidate); suffix++)
        {
            candidate = $"{baseName}_{suffix}";
        }

        _handedOutNames.Add(candidate);
        _takenNames.Add(candidate);
        return candidate;
    }

    /// <summary>
    /// Removes nodes none of whose outputs reach a graph output. Returns how many were removed.
    /// Run <see cref="RemoveUnusedInitializers"/> afterwards to drop the weights they used.
    /// </summary>
    public int RemoveDeadNodes()
    {
        var order = TopologicalOrder();
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in Proto.Output)
        {
            live.Add(output.Name);
        }

        var dead = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var node = order[i];
            bool hasOutputs = node.Output.Any(output => output.Length > 0);
            if (hasOutputs && !node.Output.Any(live.Contains))
            {
                dead.Add(node);
                continue;
            }

            foreach (string input in node.Input)
            {
                live.Add(input);
            }

            if (SubgraphReferences.HasSubgraphs(node))
            {
                live.UnionWith(SubgraphReferences.OuterNamesOf(node));
            }
        }

        if (dead.Count == 0)
        {
            return 0;
        }

        for (int i = Proto.Node.Count - 1; i >= 0; i--)
        {
            if (dead.Contains(Proto.Node[i]))
            {
                Proto.Node.RemoveAt(i);
            }
        }

        Invalidate();
        return dead.Count;
    }

    /// <summary>
    /// Structural problems in this graph and its subgraphs, as readable messages; an empty list
    /// means none were found. Never throws for a malformed graph.
    /// </summary>
    public IReadOnlyList<GraphProblem> Validate() => GraphValidator.Validate(Proto);

    private GraphIndex Index
    {
        get
        {
            if (_index is null || _index.NodeCount != Proto.Node.Count || _index.InitializerCount != Proto.Initializer.Count)
            {
                _index = GraphIndex.Build(Proto);
            }

            return _index;
        }
    }

    private sealed class GraphIndex
    {
        public required int NodeCount { get; init; }

        public required int InitializerCount { get; init; }

        public Dictionary<string, NodeProto> Producers { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, List<TensorUse>> Uses { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, TensorProto> Initializers { get; } = new(StringComparer.Ordinal);

        public Dictionary<NodeProto, HashSet<string>> SubgraphReads { get; } = new(ReferenceEqualityComparer.Instance);

        public static GraphIndex Build(GraphProto graph)
        {
            var index = new GraphIndex { NodeCount = graph.Node.Count, InitializerCount = graph.Initializer.Count };
            foreach (var initializer in graph.Initializer)
            {
                index.Initializers.TryAdd(initializer.Name, initializer);
            }

            foreach (var node in graph.Node)
            {
                foreach (string output in node.Output)
                {
                    if (output.Length > 0)
                    {
                        index.Producers.TryAdd(output, node);
                    }
                }

                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i].Length > 0)
                    {
                        index.AddUse(node.Input[i], new TensorUse(node, i));
                    }
                }

                if (SubgraphReferences.HasSubgraphs(node))
                {
                    var reads = SubgraphReferences.OuterNamesOf(node);
                    index.SubgraphReads[node] = reads;
                    foreach (string name in reads)
                    {
                        index.AddUse(name, new TensorUse(node, TensorUse.SubgraphInputIndex));
                    }
                }
            }

            return index;
        }

        private void AddUse(string name, TensorUse use)
        {
            if (!Uses.TryGetValue(name, out var list))
            {
                list = [];
                Uses[name] = list;
            }

            list.Add(use);
        }
    }
}
