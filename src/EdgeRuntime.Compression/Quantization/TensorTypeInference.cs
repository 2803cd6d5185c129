using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>
/// Element type of every tensor of a graph, from declarations and a few op rules, so quantizers touch
/// only float activations and leave shape arithmetic (int64) alone.
/// </summary>
public static class TensorTypeInference
{
    private static readonly HashSet<string> Int64Producers = ["Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"];
    private static readonly HashSet<string> BoolProducers = ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"];

    public static IReadOnlyDictionary<string, OnnxDataType> Infer(OnnxGraph graph)
    {
        var types = new Dictionary<string, OnnxDataType>();
        foreach (var value in graph.Inputs.Concat(graph.ValueInfos).Concat(graph.Outputs))
        {
            if (value.IsTensor() && value.GetElementType() != OnnxDataType.Undefined)
            {
                types[value.Name] = value.GetElementType();
            }
        }
        foreach (var initializer in graph.Initializers)
        {
            types[initializer.Name] = (OnnxDataType)initializer.DataType;
        }
        foreach (var node in graph.TopologicalOrder())
        {
            var produced = Produce(node, types);
            foreach (string output in node.Output.Where(o => o.Length > 0))
            {
                if (!types.ContainsKey(output) && produced is OnnxDataType type)
                {
                    types[output] = type;
                }
            }
        }
        return types;
    }

    private static OnnxDataType? Produce(NodeProto node, Dictionary<string, OnnxDataType> types)
    {
        if (node.Domain is not ("" or "ai.onnx"))
        {
            return node.OpType == "DequantizeLinear" ? OnnxDataType.Float : null;
        }
        if (Int64Producers.Contains(node.OpType))
        {
            return OnnxDataType.Int64;
        }
        if (BoolProducers.Contains(node.OpType))
        {
            return OnnxDataType.Bool;
        }
        switch (node.OpType)
        {
            case "Cast":
                return (OnnxDataType)node.GetInt("to");
            case "Constant":
                return node.GetTensor("value") is { } tensor ? (OnnxDataType)tensor.DataType
                    : node.HasAttribute("value_float") || node.HasAttribute("value_floats") ? OnnxDataType.Float
                    : node.HasAttribute("value_int") || node.HasAttribute("value_ints") ? OnnxDataType.Int64
                    : null;
            case "ConstantOfShape":
                return node.GetTensor("value") is { } fill ? (OnnxDataType)fill.DataType : OnnxDataType.Float;
            case "DequantizeLinear":
                return OnnxDataType.Float;
            case "QuantizeLinear":
                return node.Input.Count > 2 && types.TryGetValue(node.Input[2], out var zeroPoint) ? zeroPoint : OnnxDataType.UInt8;
            case "Where":
                return node.Input.Count > 1 && types.TryGetValue(node.Input[1], out var whereType) ? whereType : null;
        }
        foreach (string input in node.Input)
        {
            if (input.Length > 0 && types.TryGetValue(input, out var type))
            {
                return type;
            }
        }
        return null;
    }
}
