using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Names that If/Loop/Scan bodies read from the enclosing graph. ONNX lets subgraphs use
/// outer tensors without listing them as node inputs, so every analysis of "who reads this
/// tensor" must look inside them or it would treat such tensors as unused.
/// </summary>
internal static class SubgraphReferences
{
    public static bool HasSubgraphs(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null || attribute.Graphs.Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Names the node's subgraphs read but do not define themselves.</summary>
    public static HashSet<string> OuterNamesOf(NodeProto node)
    {
        var outer = new HashSet<string>(StringComparer.Ordinal);
        foreach (var graph in node.GetSubgraphs())
        {
            CollectOuterNames(graph, outer);
        }

        return outer;
    }

    /// <summary>Graph inputs, initializers and node outputs: everything the graph itself defines.</summary>
    public static HashSet<string> DefinedNames(GraphProto graph)
    {
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in graph.Input)
        {
            defined.Add(input.Name);
        }

        foreach (var initializer in graph.Initializer)
        {
            defined.Add(initializer.Name);
        }

        foreach (var sparse in graph.SparseInitializer)
        {
            if (sparse.Values is not null)
            {
                defined.Add(sparse.Values.Name);
            }
        }

        foreach (var node in graph.Node)
        {
            foreach (string output in node.Output)
            {
                if (output.Length > 0)
                {
                    defined.Add(output);
                }
            }
        }

        return defined;
    }

    /// <summary>Renames reads of an outer tensor inside a subgraph, unless the subgraph shadows the name.</summary>
    public static int RenameOuterReads(GraphProto graph, string oldName, string newName)
    {
        if (DefinedNames(graph).Contains(oldName))
        {
            return 0;
        }

        int renamed = 0;
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == oldName)
                {
                    node.Input[i] = newName;
                    renamed++;
                }
            }

            foreach (var nested in node.GetSubgraphs())
            {
                renamed += RenameOuterReads(nested, oldName, newName);
            }
        }

        foreach (var output in graph.Output)
        {
            if (output.Name == oldName)
            {
                output.Name = newName;
                renamed++;
            }
        }

        return renamed;
    }

    /// <summary>Adds every name used anywhere in the graph or its subgraphs, for collision-free naming.</summary>
    public static void CollectAllNames(GraphProto graph, HashSet<string> names)
    {
        names.Add(graph.Name);
        foreach (var value in graph.Input)
        {
            names.Add(value.Name);
        }

        foreach (var value in graph.Output)
        {
            names.Add(value.Name);
        }

        foreach (var value in graph.ValueInfo)
        {
            names.Add(value.Name);
        }

        foreach (var initializer in graph.Initializer)
        {
            names.Add(initializer.Name);
        }

        foreach (var node in graph.Node)
        {
            names.Add(node.Name);
            names.UnionWith(node.Input);
            names.UnionWith(node.Output);
            foreach (var nested in node.GetSubgraphs())
            {
                CollectAllNames(nested, names);
            }
        }
    }

    /// <summary>Names one subgraph reads but does not define itself (nested bodies included).</summary>
    public static HashSet<string> OuterNamesOfGraph(GraphProto graph)
    {
        var outer = new HashSet<string>(StringComparer.Ordinal);
        CollectOuterNames(graph, outer);
        return outer;
    }

    private static void CollectOuterNames(GraphProto graph, HashSet<string> outer)
    {
        var defined = DefinedNames(graph);
        foreach (var node in graph.Node)
        {
            foreach (string input in node.Input)
            {
                if (input.Length > 0 && !defined.Contains(input))
                {
                    outer.Add(input);
                }
            }

            if (HasSubgraphs(node))
            {
                foreach (string name in OuterNamesOf(node))
                {
                    if (!defined.Contains(name))
                    {
                        outer.Add(name);
                    }
                }
            }
        }

        // A body may pass an outer tensor straight through as one of its outputs.
        foreach (var output in graph.Output)
        {
            if (output.Name.Length > 0 && !defined.Contains(output.Name))
            {
                outer.Add(output.Name);
            }
        }
    }
}
