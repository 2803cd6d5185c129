using Google.Protobuf;
using Onnx;
using AttributeType = Onnx.AttributeProto.Types.AttributeType;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Reading and writing node attributes by name. Getters return the given default when the
/// attribute is absent and throw <see cref="OnnxFormatException"/> when it has another type,
/// because a wrongly typed attribute means the model is not what the caller thinks it is.
/// </summary>
public static class NodeAttributes
{
    public static AttributeProto? FindAttribute(this NodeProto node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (var attribute in node.Attribute)
        {
            if (attribute.Name == name)
            {
                return attribute;
            }
        }

        return null;
    }

    public static bool HasAttribute(this NodeProto node, string name) => node.FindAttribute(name) is not null;

    public static long GetInt(this NodeProto node, string name, long defaultValue = 0) =>
        node.Find(name, AttributeType.Int) is { } attribute ? attribute.I : defaultValue;

    public static float GetFloat(this NodeProto node, string name, float defaultValue = 0f) =>
        node.Find(name, AttributeType.Float) is { } attribute ? attribute.F : defaultValue;

    public static string GetString(this NodeProto node, string name, string defaultValue = "") =>
        node.Find(name, AttributeType.String) is { } attribute ? attribute.S.ToStringUtf8() : defaultValue;

    /// <summary>A copy of an INTS attribute, or <paramref name="defaultValue"/> (empty when null) when absent.</summary>
    public static long[] GetInts(this NodeProto node, string name, long[]? defaultValue = null)
    {
        if (node.Find(name, AttributeType.Ints) is not { } attribute)
        {
            return defaultValue ?? [];
        }

        var values = new long[attribute.Ints.Count];
        attribute.Ints.CopyTo(values, 0);
        return values;
    }

    /// <summary>A copy of a FLOATS attribute, or <paramref name="defaultValue"/> (empty when null) when absent.</summary>
    public static float[] GetFloats(this NodeProto node, string name, float[]? defaultValue = null)
    {
        if (node.Find(name, AttributeType.Floats) is not { } attribute)
        {
            return defaultValue ?? [];
        }

        var values = new float[attribute.Floats.Count];
        attribute.Floats.CopyTo(values, 0);
        return values;
    }

    public static string[] GetStrings(this NodeProto node, string name)
    {
        if (node.Find(name, AttributeType.Strings) is not { } attribute)
        {
            return [];
        }

        var values = new string[attribute.Strings.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = attribute.Strings[i].ToStringUtf8();
        }

        return values;
    }

    public static TensorProto? GetTensor(this NodeProto node, string name) => node.Find(name, AttributeType.Tensor)?.T;

    public static GraphProto? GetGraph(this NodeProto node, string name) => node.Find(name, AttributeType.Graph)?.G;

    /// <summary>Every subgraph the node carries (GRAPH and GRAPHS attributes), e.g. If branches or a Loop body.</summary>
    public static IEnumerable<GraphProto> GetSubgraphs(this NodeProto node)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null)
            {
                yield return attribute.G;
            }

            foreach (var graph in attribute.Graphs)
            {
                yield return graph;
            }
        }
    }

    public static NodeProto SetInt(this NodeProto node, string name, long value) =>
        node.Set(new AttributeProto { Name = name, Type = AttributeType.Int, I = value });

    public static NodeProto SetFloat(this NodeProto node, string name, float value) =>
        node.Set(new AttributeProto { Name = name, Type = AttributeType.Float, F = value });

    public static NodeProto SetString(this NodeProto node, string name, string value) =>
        node.Set(new AttributeProto { Name = name, Type = AttributeType.String, S = ByteString.CopyFromUtf8(value) });

    public static NodeProto SetInts(this NodeProto node, string name, IEnumerable<long> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return node.Set(attribute);
    }

    public static NodeProto SetFloats(this NodeProto node, string name, IEnumerable<float> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Floats };
        attribute.Floats.AddRange(values);
        return node.Set(attribute);
    }

    public static NodeProto SetStrings(this NodeProto node, string name, IEnumerable<string> values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeType.Strings };
        foreach (string value in values)
        {
            attribute.Strings.Add(ByteString.CopyFromUtf8(value));
        }

        return node.Set(attribute);
    }

    public static NodeProto SetTensor(this NodeProto node, string name, TensorProto value) =>
        node.Set(new AttributeProto { Name = name, Type = AttributeType.Tensor, T = value });

    public static NodeProto SetGraph(this NodeProto node, string name, GraphProto value) =>
        node.Set(new AttributeProto { Name = name, Type = AttributeType.Graph, G = value });

    public static bool RemoveAttribute(this NodeProto node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        for (int i = 0; i < node.Attribute.Count; i++)
        {
            if (node.Attribute[i].Name == name)
            {
                node.Attribute.RemoveAt(i);
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The attribute when present; checks its declared type, and for attributes from old
    /// exporters that leave the type unset, accepts the matching field instead.
    /// </summary>
    private static AttributeProto? Find(this NodeProto node, string name, AttributeType expected)
    {
        var attribute = node.FindAttribute(name);
        if (attribute is null || attribute.Type == expected || attribute.Type == AttributeType.Undefined)
        {
            return attribute;
        }

        throw new OnnxFormatException(
            $"Attribute '{name}' of {GraphNodes.Describe(node)} is {attribute.Type.ToString().ToUpperInvariant()}, not {expected.ToString().ToUpperInvariant()}.");
    }

    private static NodeProto Set(this NodeProto node, AttributeProto attribute)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentException.ThrowIfNullOrEmpty(attribute.Name);
        for (int i = 0; i < node.Attribute.Count; i++)
        {
            if (node.Attribute[i].Name == attribute.Name)
            {
                node.Attribute[i] = attribute;
                return node;
            }
        }

        node.Attribute.Add(attribute);
        return node;
    }
}
