using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class OnnxGraphTests
{
    [Fact]
    public void Built_model_runs_in_onnx_runtime_with_the_expected_numbers()
    {
        float[] weights = TestModels.Floats(6, seed: 3);
        float[] bias = [0.25f, -0.75f];
        var model = TestModels.MatMulAddRelu(weights, bias);
        Assert.Empty(model.Graph.Validate());
        using var directory = new TempDirectory();
        string path = directory.File("tiny.onnx");
        model.Save(path);
        float[] x = TestModels.Floats(4 * 3, seed: 4);

        var y = Ort.RunFile(path, ["y"], ("x", x, [4, 3]))["y"];

        Assert.Equal([4L, 2L], y.Shape);
        for (int row = 0; row < 4; row++)
        {
            for (int column = 0; column < 2; column++)
            {
                float expected = bias[column];
                for (int k = 0; k < 3; k++)
                {
                    expected += x[(row * 3) + k] * weights[(k * 2) + column];
                }

                Assert.Equal(Math.Max(expected, 0f), y.Floats![(row * 2) + column], 5);
            }
        }
    }

    [Fact]
    public void Producer_and_consumer_lookups_follow_edits()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);
        var graph = model.Graph;
        var matMul = graph.GetProducer("xw")!;
        var add = graph.GetProducer("xwb")!;
        Assert.Equal("MatMul", matMul.OpType);
        Assert.Same(add, Assert.Single(graph.GetConsumers("xw")));
        Assert.Null(graph.GetProducer("x"));
        Assert.Same(matMul, Assert.Single(graph.GetConsumers("x")));

        // Put an Identity between MatMul and Add, the way a Q/DQ pair would be inserted.
        string rewired = graph.UniqueName("xw_copy");
        int replaced = graph.ReplaceUses("xw", rewired);
        var identity = graph.InsertNode(graph.IndexOf(add), GraphNodes.Create("Identity", ["xw"], [rewired], graph.UniqueName("copy")));

        Assert.Equal(1, replaced);
        Assert.Same(identity, Assert.Single(graph.GetConsumers("xw")));
        Assert.Same(add, Assert.Single(graph.GetConsumers(rewired)));
        Assert.Same(identity, graph.GetProducer(rewired));
        Assert.Empty(graph.Validate());

        graph.RemoveNode(identity);
        graph.SetNodeInput(add, 0, "xw");
        Assert.Null(graph.GetProducer(rewired));
        Assert.Same(add, Assert.Single(graph.GetConsumers("xw")));
        Assert.Equal(["MatMul", "Add", "Relu"], graph.Nodes.Select(node => node.OpType));
    }

    [Fact]
    public void Direct_proto_edits_are_seen_after_Invalidate()
    {
        var graph = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]).Graph;
        var relu = graph.GetProducer("y")!;
        Assert.Single(graph.GetConsumers("xwb"));

        relu.Input[0] = "xw";
        graph.Invalidate();

        Assert.Empty(graph.GetConsumers("xwb"));
        Assert.Equal(2, graph.GetConsumers("xw").Count);

        // Adding nodes straight to the proto changes the node count, which is noticed without Invalidate.
        graph.Proto.Node.Add(GraphNodes.Create("Neg", ["y"], ["z"]));
        Assert.Equal("Neg", graph.GetProducer("z")!.OpType);
    }

    [Fact]
    public void A_node_reading_a_tensor_twice_is_one_consumer_with_two_uses()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, 2));
        var square = graph.AddNode("Mul", ["x", "x"], ["x2"]);

        Assert.Same(square, Assert.Single(graph.GetConsumers("x")));
        Assert.Equal([0, 1], graph.GetUses("x").Select(use => use.InputIndex));
    }

    [Fact]
    public void Subgraph_reads_count_as_uses_so_pruning_keeps_them()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y2", OnnxDataType.Float));
        graph.SetInitializer("w_subgraph_only", TensorData.Create([1f, -2f], 2));
        graph.SetInitializer("w_unused", TensorData.Create([3f], 1));
        var readsWeight = graph.AddNode(TestModels.IfReading("cond", "w_subgraph_only", "y"));
        var readsScaled = graph.AddNode(TestModels.IfReading("cond", "scaled", "y2"));
        readsScaled.Name = "if_scaled";
        graph.AddNode(GraphNodes.Create("Mul", ["w_subgraph_only", "w_subgraph_only"], ["scaled"], "square"));

        Assert.Equal([readsWeight, graph.GetProducer("scaled")!], graph.GetConsumers("w_subgraph_only"));
        Assert.Same(readsScaled, Assert.Single(graph.GetConsumers("scaled")));
        Assert.True(Assert.Single(graph.GetUses("scaled")).IsSubgraphUse);
        Assert.Contains("scaled", graph.GetSubgraphReads(readsScaled));
        Assert.Equal(2, graph.GetSubgraphs(readsScaled).Count());

        // The Mul is the only explicit reader; once it is gone only the subgraph keeps the weight alive.
        graph.RemoveNode(graph.GetProducer("scaled")!);
        graph.Outputs.RemoveAt(1);
        graph.RemoveNode(readsScaled);
        var removed = graph.RemoveUnusedInitializers();

        Assert.Equal(["w_unused"], removed);
        Assert.NotNull(graph.FindInitializer("w_subgraph_only"));
        Assert.Empty(graph.Validate());
        Assert.Equal(0, graph.RemoveDeadNodes());
    }

    [Fact]
    public void Topological_order_respects_reads_from_inside_subgraphs()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, 2));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        graph.AddNode(TestModels.IfReading("cond", "scaled", "y"));
        graph.AddNode(GraphNodes.Create("Mul", ["x", "x"], ["scaled"], "square"));

        Assert.Equal(["square", "if_node"], graph.TopologicalOrder().Select(node => node.Name));
    }

    [Fact]
    public void Renaming_an_outer_tensor_reaches_into_subgraphs()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("a", OnnxDataType.Float, 2));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        graph.AddNode("Identity", ["a"], ["b"]);
        var ifNode = graph.AddNode(TestModels.IfReading("cond", "a", "y"));

        int replaced = graph.ReplaceUses("a", "b", use => use.IsSubgraphUse);

        Assert.Equal(2, replaced);
        Assert.Contains("b", graph.GetSubgraphReads(ifNode));
        Assert.DoesNotContain("a", graph.GetSubgraphReads(ifNode));
        Assert.Single(graph.GetConsumers("a"));
        Assert.Empty(graph.Validate());
    }

    [Fact]
    public void Topological_order_restores_a_shuffled_fixture()
    {
        var model = TestModels.FashionCnn();
        var graph = model.Graph;
        var original = graph.Nodes.ToList();
        var shuffled = original.ToArray();
        new Random(1234).Shuffle(shuffled);
        graph.Proto.Node.Clear();
        graph.Proto.Node.AddRange(shuffled);
        Assert.NotEqual(original, shuffled);
        Assert.Empty(graph.Validate());

        var order = graph.TopologicalOrder();

        Assert.Equal(original.Count, order.Count);
        var available = new HashSet<string>(graph.Inputs.Select(input => input.Name).Concat(graph.Initializers.Select(tensor => tensor.Name)));
        foreach (var node in order)
        {
            Assert.All(node.Input.Where(input => input.Length > 0), input => Assert.Contains(input, available));
            available.UnionWith(node.Output);
        }

        graph.SortTopologically();
        Assert.Equal(order, graph.Nodes);
    }

    [Fact]
    public void Topological_order_keeps_an_already_sorted_graph_unchanged()
    {
        var graph = TestModels.FashionCnn().Graph;

        Assert.Equal(graph.Nodes.ToList(), graph.TopologicalOrder());
    }

    [Fact]
    public void Cycle_error_names_the_nodes_in_the_cycle()
    {
        var model = OnnxModel.Create("loopy");
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, 1));
        graph.AddNode("Relu", ["x"], ["start"], "entry");
        graph.AddNode("Add", ["start", "c"], ["a"], "first");
        graph.AddNode("Neg", ["a"], ["b"], "second");
        graph.AddNode("Abs", ["b"], ["c"], "third");
        graph.AddNode("Exp", ["c"], ["after"], "downstream");

        var error = Assert.Throws<InvalidOperationException>(() => graph.TopologicalOrder());

        Assert.Contains("Graph 'loopy' has a cycle", error.Message, StringComparison.Ordinal);
        Assert.Contains("node 'first' (Add) -> node 'second' (Neg) -> node 'third' (Abs) -> node 'first' (Add)", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'entry'", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 nodes in all cannot be ordered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_reading_its_own_output_is_a_cycle()
    {
        var graph = OnnxModel.Create().Graph;
        graph.AddNode("Add", ["self", "self"], ["self"], "selfish");

        var error = Assert.Throws<InvalidOperationException>(() => graph.TopologicalOrder());

        Assert.Contains("node 'selfish' (Add) -> node 'selfish' (Add)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unique_names_avoid_every_existing_and_handed_out_name()
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("cond", OnnxDataType.Bool));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Float));
        graph.AddNode(TestModels.IfReading("cond", "cond", "y"));
        graph.AddNode("Relu", ["y"], ["relu_out"], "Relu");

        Assert.Equal("fresh", graph.UniqueName("fresh"));
        Assert.Equal("fresh_1", graph.UniqueName("fresh"));
        Assert.Equal("y_1", graph.UniqueName("y"));
        Assert.Equal("then_out_1", graph.UniqueName("then_out"));
        Assert.Equal("Relu_1", graph.UniqueName("Relu"));

        var unnamed = graph.AddNode("Relu", ["relu_out"], ["z"]);
        Assert.Equal("Relu_2", unnamed.Name);
    }

    [Fact]
    public void Initializers_can_be_added_replaced_and_removed()
    {
        var graph = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]).Graph;
        int position = graph.Initializers.ToList().FindIndex(tensor => tensor.Name == "b");

        graph.SetInitializer("b", TensorData.Create([5f, 6f], 2));

        Assert.Equal(position, graph.Initializers.ToList().FindIndex(tensor => tensor.Name == "b"));
        Assert.Equal([5f, 6f], graph.GetInitializerData("b").GetValues<float>());
        Assert.Throws<InvalidOperationException>(() => graph.AddInitializer(TensorData.Scalar(1f).ToProto("b")));
        Assert.True(graph.IsInitializer("W"));
        Assert.True(graph.RemoveInitializer("W"));
        Assert.False(graph.IsInitializer("W"));
        Assert.False(graph.RemoveInitializer("W"));
    }

    [Fact]
    public void Dead_nodes_and_their_weights_can_be_removed()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);
        var graph = model.Graph;
        graph.SetInitializer("side_weight", TensorData.Create([2f, 2f], 2));
        graph.AddNode("Mul", ["xwb", "side_weight"], ["side"], "side_branch");
        graph.AddNode("Neg", ["side"], ["side_neg"], "side_branch_2");

        Assert.Equal(2, graph.RemoveDeadNodes());
        Assert.Equal(["side_weight"], graph.RemoveUnusedInitializers());
        Assert.Equal(["MatMul", "Add", "Relu"], graph.Nodes.Select(node => node.OpType));
        Assert.Empty(graph.Validate());
    }

    [Fact]
    public void Pre_ir4_initializer_inputs_are_not_runtime_inputs_and_go_with_their_initializer()
    {
        var graph = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]).Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("W", OnnxDataType.Float, 3, 2));
        graph.SetInitializer("old_unused", TensorData.Scalar(1f));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("old_unused", OnnxDataType.Float));

        Assert.Equal(["x"], graph.RuntimeInputs.Select(input => input.Name));
        Assert.Equal(["old_unused"], graph.RemoveUnusedInitializers());
        Assert.DoesNotContain(graph.Inputs, input => input.Name == "old_unused");
        Assert.True(graph.IsGraphInput("W"));
    }
}
