using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Kahn's algorithm over node dependencies, including reads from inside subgraphs.</summary>
internal static class NodeOrdering
{
    /// <summary>
    /// Orders nodes so producers come before consumers, keeping the original order wherever the
    /// dependencies allow. On a cycle returns false with the nodes of one cycle in data-flow order.
    /// </summary>
    public static bool TrySort(IReadOnlyList<NodeProto> nodes, out List<NodeProto> order, out List<NodeProto> cycle)
    {
        int count = nodes.Count;
        var producerIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            foreach (string output in nodes[i].Output)
            {
                if (output.Length > 0)
                {
                    producerIndex.TryAdd(output, i);
                }
            }
        }

        var successors = new List<int>[count];
        var predecessors = new List<int>[count];
        var inDegree = new int[count];
        for (int i = 0; i < count; i++)
        {
            successors[i] = [];
            predecessors[i] = [];
        }

        for (int i = 0; i < count; i++)
        {
            foreach (string input in ReadNames(nodes[i]))
            {
                if (producerIndex.TryGetValue(input, out int producer))
                {
                    successors[producer].Add(i);
                    predecessors[i].Add(producer);
                    inDegree[i]++;
                }
            }
        }

        // A priority queue keyed by position keeps independent nodes in their original order.
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < count; i++)
        {
            if (inDegree[i] == 0)
            {
                ready.Enqueue(i, i);
            }
        }

        order = new List<NodeProto>(count);
        var emitted = new bool[count];
        while (ready.TryDequeue(out int next, out _))
        {
            order.Add(nodes[next]);
            emitted[next] = true;
            foreach (int successor in successors[next])
            {
                if (--inDegree[successor] == 0)
                {
                    ready.Enqueue(successor, successor);
                }
            }
        }

        if (order.Count == count)
        {
            cycle = [];
            return true;
        }

        cycle = FindCycle(nodes, predecessors, emitted);
        return false;
    }

    public static string DescribeCycle(string graphName, List<NodeProto> cycle, int unorderedCount)
    {
        var steps = new List<string>(cycle.Count + 1);
        foreach (var node in cycle)
        {
            steps.Add(GraphNodes.Describe(node));
        }

        steps.Add(GraphNodes.Describe(cycle[0]));
        string graph = string.IsNullOrEmpty(graphName) ? "The graph" : $"Graph '{graphName}'";
        string extra = unorderedCount > cycle.Count
            ? $" {unorderedCount} nodes in all cannot be ordered because they are on or after the cycle."
            : string.Empty;
        return $"{graph} has a cycle: {string.Join(" -> ", steps)}.{extra}";
    }

    private static IEnumerable<string> ReadNames(NodeProto node)
    {
        foreach (string input in node.Input)
        {
            if (input.Length > 0)
            {
                yield return input;
            }
        }

        if (SubgraphReferences.HasSubgraphs(node))
        {
            foreach (string name in SubgraphReferences.OuterNamesOf(node))
            {
                yield return name;
            }
        }
    }

    // Every node left over still waits on a left-over predecessor, so walking predecessors
    // must revisit a node; the walk from that node's first visit is a cycle.
    private static List<NodeProto> FindCycle(IReadOnlyList<NodeProto> nodes, List<int>[] predecessors, bool[] emitted)
    {
        int current = Array.IndexOf(emitted, false);
        var firstVisit = new Dictionary<int, int>();
        var path = new List<int>();
        while (!firstVisit.ContainsKey(current))
        {
            firstVisit[current] = path.Count;
            path.Add(current);
            foreach (int predecessor in predecessors[current])
            {
                if (!emitted[predecessor])
                {
                    current = predecessor;
                    break;
                }
            }
        }

        // Data flows opposite to the walk; start the report at the earliest stored node so it reads naturally.
        var members = path.GetRange(firstVisit[current], path.Count - firstVisit[current]);
        members.Reverse();
        int earliest = members.IndexOf(members.Min());
        var cycle = new List<NodeProto>(members.Count);
        for (int i = 0; i < members.Count; i++)
        {
            cycle.Add(nodes[members[(earliest + i) % members.Count]]);
        }

        return cycle;
    }
}
