using EdgeRuntime.Onnx.Tests.Support;
using Google.Protobuf;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class GraphValidationTests
{
    private static OnnxGraph ValidGraph() => TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]).Graph;

    [Fact]
    public void Fixture_and_built_models_have_no_problems()
    {
        Assert.Empty(TestModels.FashionCnn().Graph.Validate());
        Assert.Empty(ValidGraph().Validate());
    }

    [Fact]
    public void Reading_a_tensor_nothing_defines_is_reported()
    {
        var graph = ValidGraph();
        graph.SetNodeInput(graph.GetProducer("xwb")!, 1, "bias_typo");

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.UndefinedInput, problem.Kind);
        Assert.Contains("reads 'bias_typo'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("Add", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_producers_of_one_tensor_are_reported()
    {
        var graph = ValidGraph();
        graph.AddNode("Neg", ["x"], ["xw"], "second_writer");

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.DuplicateDefinition, problem.Kind);
        Assert.Contains("'xw' is produced by both", problem.Message, StringComparison.Ordinal);
        Assert.Contains("'second_writer'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_overwriting_an_initializer_is_reported()
    {
        var graph = ValidGraph();
        graph.AddNode("Neg", ["x"], ["W"], "clobber");

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.DuplicateDefinition, problem.Kind);
        Assert.Contains("is also an initializer", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Graph_output_nothing_produces_is_reported()
    {
        var graph = ValidGraph();
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("ghost", OnnxDataType.Float, 1));

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.UndefinedGraphOutput, problem.Kind);
        Assert.Contains("Graph output 'ghost'", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_without_op_type_is_reported()
    {
        var graph = ValidGraph();
        graph.AddNode(new NodeProto { Name = "blank", Input = { "y" }, Output = { "blank_out" } });

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.EmptyOpType, problem.Kind);
        Assert.Contains("'blank'", problem.Message, StringComparison.Ordinal);
        Assert.Contains("empty op_type", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initializer_whose_raw_data_does_not_fit_its_dims_is_reported()
    {
        var graph = ValidGraph();
        graph.FindInitializer("W")!.RawData = ByteString.CopyFrom(new byte[20]);

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.InvalidInitializer, problem.Kind);
        Assert.Contains("Initializer 'W' (float [3,2]) has 20 bytes of raw_data", problem.Message, StringComparison.Ordinal);
        Assert.Contains("need 24", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initializer_with_a_wrong_dtype_is_reported()
    {
        var graph = ValidGraph();
        graph.FindInitializer("W")!.DataType = (int)OnnxDataType.Double;

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(GraphProblemKind.InvalidInitializer, problem.Kind);
        Assert.Contains("double [3,2]", problem.Message, StringComparison.Ordinal);
        Assert.Contains("need 48", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Initializer_with_too_few_typed_values_or_no_type_is_reported()
    {
        var graph = ValidGraph();
        var typed = new TensorProto { Name = "typed", DataType = (int)OnnxDataType.Float, Dims = { 4 }, FloatData = { 1f, 2f } };
        graph.AddInitializer(typed);
        graph.AddInitializer(new TensorProto { Name = "untyped", Dims = { 1 }, RawData = ByteString.CopyFrom(new byte[4]) });

        var problems = graph.Validate();

        Assert.Equal(2, problems.Count);
        Assert.All(problems, problem => Assert.Equal(GraphProblemKind.InvalidInitializer, problem.Kind));
        Assert.Contains(problems, problem => problem.Message.Contains("2 values in float_data, but its dims need 4", StringComparison.Ordinal));
        Assert.Contains(problems, problem => problem.Message.Contains("'untyped' has no valid data type", StringComparison.Ordinal));
    }

    [Fact]
    public void Cycles_are_reported_not_thrown()
    {
        var graph = ValidGraph();
        graph.SetNodeInput(graph.GetProducer("xw")!, 0, "y");

        var problems = graph.Validate();

        var cycle = Assert.Single(problems, problem => problem.Kind == GraphProblemKind.Cycle);
        Assert.Contains("MatMul", cycle.Message, StringComparison.Ordinal);
        Assert.Contains("Relu", cycle.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_inside_subgraphs_say_where_they_are()
    {
        var graph = ValidGraph();
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("branch_out", OnnxDataType.Float));
        graph.AddNode(TestModels.IfReading("cond", "missing_outer", "branch_out"));

        var problems = graph.Validate();

        Assert.Equal(2, problems.Count);
        Assert.All(problems, problem => Assert.Equal(GraphProblemKind.UndefinedInput, problem.Kind));
        Assert.Contains(problems, problem => problem.Message.StartsWith("In subgraph 'then_branch' of node 'if_node' (If):", StringComparison.Ordinal));
        Assert.Contains(problems, problem => problem.Message.StartsWith("In subgraph 'else_branch' of node 'if_node' (If):", StringComparison.Ordinal));
    }

    [Fact]
    public void Subgraphs_may_read_names_from_the_outer_graph()
    {
        var graph = ValidGraph();
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("branch_out", OnnxDataType.Float));
        graph.AddNode(TestModels.IfReading("cond", "xw", "branch_out"));

        Assert.Empty(graph.Validate());
    }

    [Fact]
    public void Problems_print_as_their_message()
    {
        var graph = ValidGraph();
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("ghost", OnnxDataType.Float, 1));

        var problem = Assert.Single(graph.Validate());

        Assert.Equal(problem.Message, problem.ToString());
    }
}
