using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class NodeAttributesTests
{
    [Fact]
    public void Fixture_conv_attributes_read_as_exported()
    {
        var conv = TestModels.FashionCnn().Graph.Nodes.First(node => node.OpType == "Conv");

        Assert.Equal([3L, 3L], conv.GetInts("kernel_shape"));
        Assert.Equal([1L, 1L, 1L, 1L], conv.GetInts("pads"));
        Assert.Equal([1L, 1L], conv.GetInts("strides"));
        Assert.Equal(1, conv.GetInt("group", 1));
        Assert.Equal("NOTSET", conv.GetString("auto_pad", "NOTSET"));
    }

    [Fact]
    public void Missing_attributes_give_the_default()
    {
        var node = GraphNodes.Create("Gemm", ["a", "b"], ["c"]);

        Assert.Equal(1f, node.GetFloat("alpha", 1f));
        Assert.Equal(0, node.GetInt("transA"));
        Assert.Equal([2L, 2L], node.GetInts("strides", [2, 2]));
        Assert.Empty(node.GetFloats("scales"));
        Assert.Empty(node.GetStrings("names"));
        Assert.Null(node.GetTensor("value"));
        Assert.Null(node.GetGraph("then_branch"));
        Assert.False(node.HasAttribute("alpha"));
    }

    [Fact]
    public void Set_attributes_read_back_and_replace_earlier_values()
    {
        var tensor = TensorData.Create([1f, 2f], 2).ToProto("t");
        var body = new GraphProto { Name = "body" };
        var node = GraphNodes.Create("Custom", ["x"], ["y"], "n")
            .SetInt("axis", 1)
            .SetFloat("epsilon", 1e-5f)
            .SetString("mode", "linear")
            .SetInts("perm", [0, 2, 1])
            .SetFloats("scales", [1f, 2f])
            .SetStrings("names", ["a", "b"])
            .SetTensor("value", tensor)
            .SetGraph("body", body);
        node.SetInt("axis", -1);

        Assert.Equal(-1, node.GetInt("axis"));
        Assert.Single(node.Attribute, attribute => attribute.Name == "axis");
        Assert.Equal(1e-5f, node.GetFloat("epsilon"));
        Assert.Equal("linear", node.GetString("mode"));
        Assert.Equal([0L, 2L, 1L], node.GetInts("perm"));
        Assert.Equal([1f, 2f], node.GetFloats("scales"));
        Assert.Equal(["a", "b"], node.GetStrings("names"));
        Assert.Same(tensor, node.GetTensor("value"));
        Assert.Same(body, node.GetGraph("body"));
        Assert.Equal([body], node.GetSubgraphs());
        Assert.True(node.RemoveAttribute("mode"));
        Assert.False(node.RemoveAttribute("mode"));
        Assert.Equal("bilinear", node.GetString("mode", "bilinear"));
    }

    [Fact]
    public void Reading_an_attribute_as_the_wrong_type_names_it()
    {
        var node = GraphNodes.Create("Conv", ["x", "w"], ["y"], "conv1").SetInts("kernel_shape", [3, 3]);

        var error = Assert.Throws<OnnxFormatException>(() => node.GetInt("kernel_shape"));

        Assert.Contains("Attribute 'kernel_shape' of node 'conv1' (Conv) is INTS, not INT", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nodes_are_described_by_name_or_by_output()
    {
        Assert.Equal("node 'conv1' (Conv)", GraphNodes.Describe(GraphNodes.Create("Conv", [], ["y"], "conv1")));
        Assert.Equal("unnamed Relu node producing 'r'", GraphNodes.Describe(GraphNodes.Create("Relu", ["x"], ["r"])));
        Assert.Equal("node 'q' (com.microsoft.QGemm)", GraphNodes.Describe(GraphNodes.Create("QGemm", [], ["y"], "q", "com.microsoft")));
    }
}
