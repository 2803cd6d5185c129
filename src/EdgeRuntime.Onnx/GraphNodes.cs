using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Helpers for talking about nodes in messages and for building them.</summary>
public static class GraphNodes
{
    /// <summary>How messages name a node: <c>node 'conv1' (Conv)</c>, or by its first output when unnamed.</summary>
    public static string Describe(NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        string op = string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx" ? node.OpType : $"{node.Domain}.{node.OpType}";
        if (op.Length == 0)
        {
            op = "no op_type";
        }

        if (!string.IsNullOrEmpty(node.Name))
        {
            return $"node '{node.Name}' ({op})";
        }

        foreach (string output in node.Output)
        {
            if (output.Length > 0)
            {
                return $"unnamed {op} node producing '{output}'";
            }
        }

        return $"unnamed {op} node";
    }

    /// <summary>A new node; empty strings in <paramref name="inputs"/> mark skipped optional inputs.</summary>
    public static NodeProto Create(string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, string name = "", string domain = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        var node = new NodeProto { OpType = opType, Name = name, Domain = domain };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }
}
