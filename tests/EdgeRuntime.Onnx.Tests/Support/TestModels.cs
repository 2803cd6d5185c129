using EdgeRuntime.Samples;
using Onnx;

namespace EdgeRuntime.Onnx.Tests.Support;

/// <summary>The fixture model and small models built with the graph layer itself.</summary>
internal static class TestModels
{
    public const string FixtureFileName = "fashion-cnn.onnx";

    public static byte[] FashionCnnBytes() => SampleModels.FashionCnn();

    public static OnnxModel FashionCnn() => OnnxModel.Load(FashionCnnBytes(), FixtureFileName);

    /// <summary>y = Relu(x · W + b) with x [batch, 3], W [3, 2], b [2].</summary>
    public static OnnxModel MatMulAddRelu(float[] weights, float[] bias)
    {
        var model = OnnxModel.Create("matmul_add_relu");
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, "batch", 3));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, "batch", 2));
        graph.SetInitializer("W", TensorData.Create(weights, 3, 2));
        graph.SetInitializer("b", TensorData.Vector(bias));
        graph.AddNode("MatMul", ["x", "W"], ["xw"]);
        graph.AddNode("Add", ["xw", "b"], ["xwb"]);
        graph.AddNode("Relu", ["xwb"], ["y"]);
        return model;
    }

    /// <summary>A model with one float input of a fixed shape and one output "y" of undeclared shape.</summary>
    public static OnnxModel WithInput(long[] inputShape, long opset = OnnxModel.DefaultOpsetVersion)
    {
        var model = OnnxModel.Create("case", opset, opset >= 15 ? 8 : opset >= 13 ? 7 : 6);
        var dims = new OnnxDim[inputShape.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = inputShape[i];
        }

        model.Graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, dims));
        model.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        return model;
    }

    /// <summary>Deterministic pseudo-random floats in [-1, 1).</summary>
    public static float[] Floats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (float)((random.NextDouble() * 2) - 1);
        }

        return values;
    }

    /// <summary>An If node whose branches read <paramref name="outerName"/> from the enclosing graph.</summary>
    public static NodeProto IfReading(string condition, string outerName, string output)
    {
        static GraphProto Branch(string name, string opType, string outerName)
        {
            var branch = new GraphProto { Name = name };
            branch.Node.Add(GraphNodes.Create(opType, [outerName], [name + "_out"], name + "_node"));
            branch.Output.Add(OnnxValueInfo.CreateTensorOfUnknownShape(name + "_out", OnnxDataType.Float));
            return branch;
        }

        var node = GraphNodes.Create("If", [condition], [output], "if_node");
        node.SetGraph("then_branch", Branch("then", "Relu", outerName));
        node.SetGraph("else_branch", Branch("else", "Neg", outerName));
        return node;
    }
}
