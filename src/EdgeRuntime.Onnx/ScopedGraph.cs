using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// One graph of a model, the main graph or an If/Loop/Scan body at any depth, with the chain of
/// graphs around it, so a pass working inside a body can resolve what the body reads from outside
/// (ONNX lets a body read any tensor or initializer of an enclosing graph by name).
/// </summary>
public sealed class ScopedGraph
{
    private ScopedGraph(OnnxGraph graph, ScopedGraph? parent, NodeProto? owner, string attributeName)
    {
        Graph = graph;
        Parent = parent;
        Owner = owner;
        AttributeName = attributeName;
    }

    public OnnxGraph Graph { get; }

    /// <summary>
    /// Compares (graph, name) keys by the graph's identity: protobuf messages compare and hash by content, which
    /// changes as a pass edits the graph, so content-keyed caches would miss.
    /// </summary>
    public static IEqualityComparer<(GraphProto Graph, string Name)> GraphAndName { get; } = new GraphAndNameComparer();

    private sealed class GraphAndNameComparer : IEqualityComparer<(GraphProto Graph, string Name)>
    {
        public bool Equals((GraphProto Graph, string Name) x, (GraphProto Graph, string Name) y) =>
            ReferenceEquals(x.Graph, y.Graph) && string.Equals(x.Name, y.Name, StringComparison.Ordinal);

        public int GetHashCode((GraphProto Graph, string Name) key) =>
            HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Graph), StringComparer.Ordinal.GetHashCode(key.Name));
    }

    /// <summary>The enclosing graph; null for the main graph.</summary>
    public ScopedGraph? Parent { get; }

    /// <summary>The If/Loop/Scan node whose attribute holds this graph; null for the main graph.</summary>
    public NodeProto? Owner { get; }

    /// <summary>then_branch, else_branch or body; empty for the main graph.</summary>
    public string AttributeName { get; }

    public bool IsMain => Parent is null;

    /// <summary>The main graph at the top of the chain (its <see cref="OnnxGraph.UniqueName"/> sees every name of the model).</summary>
    public ScopedGraph Root => Parent?.Root ?? this;

    /// <summary>Where this graph is, for messages: "main graph" or "If 'If_0' then_branch" (outermost first).</summary>
    public string Location => IsMain
        ? "main graph"
        : Parent!.IsMain
            ? $"{Owner!.OpType} '{NodeName(Owner)}' {AttributeName}"
            : $"{Parent.Location} > {Owner!.OpType} '{NodeName(Owner)}' {AttributeName}";

    /// <summary>The main graph and every body inside it, depth-first, the main graph first.</summary>
    public static IReadOnlyList<ScopedGraph> All(OnnxGraph main)
    {
        ArgumentNullException.ThrowIfNull(main);
        var all = new List<ScopedGraph>();
        Collect(new ScopedGraph(main, null, null, ""), all);
        return all;
    }

    /// <summary>Names the graph (or bodies inside it) reads without defining them: values of enclosing graphs.</summary>
    public static IReadOnlySet<string> OuterReads(GraphProto graph) => SubgraphReferences.OuterNamesOfGraph(graph);

    /// <summary>The bodies of nodes of this graph (one level down).</summary>
    public IEnumerable<ScopedGraph> Children()
    {
        foreach (var node in Graph.Nodes)
        {
            foreach (var attribute in node.Attribute)
            {
                if (attribute.G is not null)
                {
                    yield return new ScopedGraph(new OnnxGraph(attribute.G, Graph.ExternalDataDirectory), this, node, attribute.Name);
                }
                foreach (var graph in attribute.Graphs)
                {
                    yield return new ScopedGraph(new OnnxGraph(graph, Graph.ExternalDataDirectory), this, node, attribute.Name);
                }
            }
        }
    }

    /// <summary>
    /// The graph (this one or an enclosing one) whose initializer a read of <paramref name="name"/>
    /// here resolves to, or null when the name is computed (or shadowed by a computed value) on the way.
    /// </summary>
    public OnnxGraph? InitializerOwner(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope.Graph.IsInitializer(name))
            {
                return scope.Graph;
            }
            if (scope.Graph.GetProducer(name) is not null || scope.Graph.IsGraphInput(name))
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Value of a tensor fixed at export, resolved through enclosing graphs: an initializer or a Constant node's value.</summary>
    public TensorData? ConstantValue(string name)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            var graph = scope.Graph;
            if (graph.IsInitializer(name))
            {
                return graph.GetInitializerData(name);
            }
            if (graph.GetProducer(name) is { } producer)
            {
                return producer is { OpType: "Constant", Domain: "" or "ai.onnx" } && producer.FindAttribute("value") is { T: { } tensor }
                    ? TensorData.FromProto(tensor, graph.ExternalDataDirectory)
                    : null;
            }
            if (graph.IsGraphInput(name))
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>
    /// Moves initializers of each graph that only one body reads (and nothing else in that graph) into
    /// that body, recursively, so passes see the weights of a body as its own constants and can store
    /// their new forms there. Initializers read by several bodies stay where they are (passes resolve them
    /// through <see cref="InitializerOwner"/>). Returns how many moved.
    /// </summary>
    public static int LocalizeInitializers(OnnxGraph main)
    {
        ArgumentNullException.ThrowIfNull(main);
        return Localize(new ScopedGraph(main, null, null, ""));
    }

    private static int Localize(ScopedGraph scope)
    {
        var graph = scope.Graph;
        var bodies = scope.Children().ToList();
        int moved = 0;
        if (bodies.Count > 0)
        {
            var reads = bodies.Select(b => SubgraphReferences.OuterNamesOfGraph(b.Graph.Proto)).ToList();
            var directReads = new HashSet<string>(graph.Nodes.SelectMany(n => n.Input), StringComparer.Ordinal);
            foreach (var initializer in graph.Initializers.ToList())
            {
                string name = initializer.Name;
                if (directReads.Contains(name) || graph.IsGraphOutput(name) || graph.IsGraphInput(name))
                {
                    continue;
                }
                var readers = Enumerable.Range(0, bodies.Count).Where(i => reads[i].Contains(name)).ToList();
                if (readers.Count != 1)
                {
                    continue;
                }
                graph.RemoveInitializer(name);
                bodies[readers[0]].Graph.AddInitializer(initializer);
                moved++;
            }
        }
        foreach (var body in bodies)
        {
            moved += Localize(body);
        }
        if (moved > 0)
        {
            graph.Invalidate();
        }
        return moved;
    }

    private static void Collect(ScopedGraph scope, List<ScopedGraph> all)
    {
        all.Add(scope);
        foreach (var child in scope.Children())
        {
            Collect(child, all);
        }
    }

    private static string NodeName(NodeProto node) => node.Name.Length > 0 ? node.Name : node.Output.FirstOrDefault(o => o.Length > 0) ?? node.OpType;
}
