using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Finds structural mistakes in a graph and its subgraphs without throwing.</summary>
internal static class GraphValidator
{
    public static List<GraphProblem> Validate(GraphProto graph)
    {
        var problems = new List<GraphProblem>();
        Check(graph, new HashSet<string>(StringComparer.Ordinal), string.Empty, problems);
        return problems;
    }

    private static void Check(GraphProto graph, HashSet<string> outerScope, string location, List<GraphProblem> problems)
    {
        void Report(GraphProblemKind kind, string message) => problems.Add(new GraphProblem(kind, location + message));

        // Where each name comes from, for messages about clashes.
        var definedBy = new Dictionary<string, (string Description, bool ByNode)>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            if (!definedBy.TryAdd(input.Name, ("a graph input", false)))
            {
                Report(GraphProblemKind.DuplicateDefinition, $"Graph input '{input.Name}' is declared more than once.");
            }
        }

        var initializerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var initializer in graph.Initializer)
        {
            if (!initializerNames.Add(initializer.Name))
            {
                Report(GraphProblemKind.DuplicateDefinition, $"Initializer '{initializer.Name}' is defined more than once.");
            }

            // An initializer that is also a graph input is the pre-IR4 way of giving inputs defaults.
            definedBy.TryAdd(initializer.Name, ("an initializer", false));
            if (InitializerChecks.Problem(initializer) is { } problem)
            {
                Report(GraphProblemKind.InvalidInitializer, problem);
            }
        }

        foreach (var sparse in graph.SparseInitializer)
        {
            if (sparse.Values is not null)
            {
                definedBy.TryAdd(sparse.Values.Name, ("a sparse initializer", false));
            }
        }

        foreach (var node in graph.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length == 0)
                {
                    continue;
                }

                string producer = GraphNodes.Describe(node);
                if (!definedBy.TryAdd(output, (producer, true)))
                {
                    var earlier = definedBy[output];
                    Report(GraphProblemKind.DuplicateDefinition, earlier.ByNode
                        ? $"Tensor '{output}' is produced by both {earlier.Description} and {producer}."
                        : $"Tensor '{output}' is produced by {producer} but is also {earlier.Description}.");
                }
            }
        }

        bool IsVisible(string name) => definedBy.ContainsKey(name) || outerScope.Contains(name);

        for (int index = 0; index < graph.Node.Count; index++)
        {
            var node = graph.Node[index];
            if (string.IsNullOrWhiteSpace(node.OpType))
            {
                Report(GraphProblemKind.EmptyOpType, $"Node #{index} ({Label(node)}) has an empty op_type.");
            }

            foreach (string input in node.Input)
            {
                if (input.Length > 0 && !IsVisible(input))
                {
                    Report(GraphProblemKind.UndefinedInput,
                        $"{Capitalize(GraphNodes.Describe(node))} reads '{input}', which no node produces and which is neither a graph input nor an initializer.");
                }
            }

            foreach (var attribute in node.Attribute)
            {
                var subgraphs = attribute.G is null ? attribute.Graphs : (IEnumerable<GraphProto>)[attribute.G, .. attribute.Graphs];
                foreach (var subgraph in subgraphs)
                {
                    var scope = new HashSet<string>(outerScope, StringComparer.Ordinal);
                    scope.UnionWith(definedBy.Keys);
                    Check(subgraph, scope, $"{location}In subgraph '{attribute.Name}' of {GraphNodes.Describe(node)}: ", problems);
                }
            }
        }

        foreach (var output in graph.Output)
        {
            if (!IsVisible(output.Name))
            {
                Report(GraphProblemKind.UndefinedGraphOutput,
                    $"Graph output '{output.Name}' is not produced by any node and is not a graph input or initializer.");
            }
        }

        if (!NodeOrdering.TrySort(graph.Node, out var order, out var cycle))
        {
            Report(GraphProblemKind.Cycle, NodeOrdering.DescribeCycle(graph.Name, cycle, graph.Node.Count - order.Count));
        }
    }

    private static string Label(NodeProto node) =>
        string.IsNullOrEmpty(node.Name) ? (node.Output.Count > 0 ? $"producing '{node.Output[0]}'" : "unnamed") : $"'{node.Name}'";

    private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
