using Google.Protobuf;
using Onnx;

namespace EdgeRuntime.Tests;

/// <summary>Writes small ONNX models for tests directly as protobuf.</summary>
internal static class TestModels
{
    /// <summary>y = x * scale, x: float[batch, width].</summary>
    public static byte[] Scale(float scale, int width = 4, string input = "x", string output = "y")
    {
        var graph = new GraphProto { Name = "scale" };
        graph.Input.Add(Value(input, "batch", width));
        graph.Output.Add(Value(output, "batch", width));
        graph.Initializer.Add(Scalar("scale", scale));
        graph.Node.Add(Node("Mul", [input, "scale"], [output]));
        return Model(graph);
    }

    /// <summary>A chain of <paramref name="steps"/> 1024x1024 MatMuls: seconds to minutes of work.</summary>
    public static byte[] LongChain(int steps, int size = 1024)
    {
        var graph = new GraphProto { Name = "long-chain" };
        graph.Input.Add(Value("x", size, size));
        graph.Output.Add(Value("y", size, size));
        var weight = new TensorProto { Name = "w", DataType = (int)TensorProto.Types.DataType.Float };
        weight.Dims.Add(size);
        weight.Dims.Add(size);
        var values = new float[size * size];
        for (int i = 0; i < size; i++)
        {
            values[i * size + i] = 1f;
        }
        weight.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        graph.Initializer.Add(weight);
        string previous = "x";
        for (int i = 0; i < steps; i++)
        {
            string next = i == steps - 1 ? "y" : $"h{i}";
            graph.Node.Add(Node("MatMul", [previous, "w"], [next]));
            previous = next;
        }
        return Model(graph);
    }

    private static byte[] Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "edgeruntime-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model.ToByteArray();
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static TensorProto Scalar(string name, float value)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        tensor.FloatData.Add(value);
        return tensor;
    }

    private static ValueInfoProto Value(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture) });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
