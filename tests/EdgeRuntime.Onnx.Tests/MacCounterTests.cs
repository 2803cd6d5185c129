using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class MacCounterTests
{
    // Architecture of the fixture (see train_fashion_cnn.py): conv3x3(1->16) on 28x28, pool,
    // conv3x3(16->32) on 14x14, pool, fc 1568->128, fc 128->10.
    private const long Conv1Macs = 28 * 28 * 16 * 1 * 9;
    private const long Conv2Macs = 14 * 14 * 32 * 16 * 9;
    private const long Fc1Macs = 1568 * 128;
    private const long Fc2Macs = 128 * 10;

    [Fact]
    public void Fixture_macs_match_the_hand_computed_architecture()
    {
        var model = TestModels.FashionCnn();
        bool batchNormFused = model.Graph.Nodes.All(node => node.OpType != "BatchNormalization");
        long batchNormMacs = batchNormFused ? 0 : (28 * 28 * 16) + (14 * 14 * 32);

        var cost = MacCounter.Count(model);

        Assert.True(cost.IsComplete, string.Join("; ", cost.Unresolved));
        Assert.Equal(Conv1Macs + Conv2Macs + Fc1Macs + Fc2Macs + batchNormMacs, cost.TotalMacs);
        Assert.Equal([Conv1Macs, Conv2Macs], cost.Nodes.Where(node => node.Node.OpType == "Conv").Select(node => node.Macs));
        Assert.Equal([Fc1Macs, Fc2Macs], cost.Nodes.Where(node => node.Node.OpType == "Gemm").Select(node => node.Macs));
        Assert.Equal(Conv1Macs + Conv2Macs, cost.MacsByOpType["Conv"]);
        Assert.Equal([1L, 10L], cost.Shapes["logits"]);
        Assert.Equal([1L, 1568L], cost.Nodes.Single(node => node.Node.OpType == "Flatten").OutputShape);
    }

    [Fact]
    public void Fixture_parameter_count_and_bytes()
    {
        var model = TestModels.FashionCnn();
        bool batchNormFused = model.Graph.Nodes.All(node => node.OpType != "BatchNormalization");
        long weights = (16 * 1 * 9) + (32 * 16 * 9) + (1568 * 128) + (128 * 10);
        long denseBiases = 128 + 10;

        // Folding BatchNorm into the bias-free convs adds a bias per channel; unfolded it keeps
        // scale, shift, mean and variance per channel.
        long batchNormParameters = batchNormFused ? 16 + 32 : 4 * (16 + 32);
        long expected = weights + denseBiases + batchNormParameters;

        var cost = MacCounter.Count(model);

        Assert.Equal(expected, cost.ParameterCount);
        Assert.Equal(expected * sizeof(float), cost.ParameterBytes);
    }

    [Fact]
    public void Unknown_custom_op_gives_an_incomplete_lower_bound()
    {
        var model = TestModels.FashionCnn();
        var relu = model.Graph.Nodes.First(node => node.OpType == "Relu");
        relu.OpType = "Swish";
        relu.Domain = "com.example";
        model.SetOpset("com.example", 1);

        var cost = MacCounter.Count(model);

        Assert.False(cost.IsComplete);
        Assert.Same(relu, cost.Unresolved[0].Node);
        Assert.Contains("com.example.Swish", cost.Unresolved[0].Reason, StringComparison.Ordinal);
        Assert.Contains(cost.Unresolved, node => node.Node.OpType == "Gemm" && node.Reason.Contains("unknown", StringComparison.Ordinal));
        Assert.True(cost.TotalMacs >= Conv1Macs);
        Assert.True(cost.TotalMacs < Conv1Macs + Conv2Macs);
        Assert.Equal(model.Graph.Nodes.Count, cost.Nodes.Count);
        Assert.Null(cost.Nodes.Single(node => ReferenceEquals(node.Node, relu)).OutputShape);
    }

    [Fact]
    public void Unknown_op_on_a_side_branch_leaves_the_main_path_counted()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);
        model.Graph.AddNode("MysteryOp", ["y"], ["side"], "mystery");
        model.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("side", OnnxDataType.Float));

        var cost = MacCounter.Count(model);

        Assert.False(cost.IsComplete);
        Assert.Equal(3 * 2, cost.TotalMacs);
        var unresolved = Assert.Single(cost.Unresolved);
        Assert.Contains("'MysteryOp' is not one the MAC counter knows", unresolved.Reason, StringComparison.Ordinal);
        Assert.Contains("node 'mystery' (MysteryOp)", unresolved.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Cyclic_graph_does_not_throw()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);
        model.Graph.SetNodeInput(model.Graph.GetProducer("xw")!, 0, "y");

        var cost = MacCounter.Count(model);

        Assert.False(cost.IsComplete);
        Assert.Equal(3, cost.Unresolved.Count);
        Assert.Equal(0, cost.TotalMacs);
    }

    [Fact]
    public void Symbolic_batch_counts_as_one_unless_a_shape_is_given()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);

        Assert.Equal(6, MacCounter.Count(model).TotalMacs);
        Assert.Equal(48, MacCounter.Count(model, new Dictionary<string, long[]> { ["x"] = [8, 3] }).TotalMacs);
    }

    [Fact]
    public void Input_without_a_declared_shape_is_reported_not_guessed()
    {
        var model = TestModels.MatMulAddRelu(TestModels.Floats(6, 1), [0f, 0f]);
        model.Graph.Inputs[0] = OnnxValueInfo.CreateTensorOfUnknownShape("x", OnnxDataType.Float);

        var cost = MacCounter.Count(model);

        Assert.False(cost.IsComplete);
        Assert.Contains("shape of input 'x' is unknown", cost.Unresolved[0].Reason, StringComparison.Ordinal);
    }

    public static TheoryData<string> ShapeCaseNames => [.. ShapeCases.All.Keys];

    /// <summary>Every inferred output shape must be the shape ONNX Runtime actually produces.</summary>
    [Theory]
    [MemberData(nameof(ShapeCaseNames))]
    public void Inferred_shapes_match_onnx_runtime(string caseName)
    {
        var shapeCase = ShapeCases.All[caseName];
        var model = TestModels.WithInput(shapeCase.InputShape, shapeCase.Opset);
        shapeCase.Build(model.Graph);
        Assert.Empty(model.Graph.Validate());

        var cost = MacCounter.Count(model);
        long inputCount = TensorShapes.ElementCount(shapeCase.InputShape);
        var actual = Ort.Run(model, ("x", TestModels.Floats((int)inputCount, seed: 5), shapeCase.InputShape))["y"];

        Assert.True(cost.IsComplete, string.Join("; ", cost.Unresolved));
        Assert.Equal(actual.Shape, cost.Shapes["y"]);
        if (shapeCase.ExpectedMacs is { } macs)
        {
            Assert.Equal(macs, cost.TotalMacs);
        }
    }
}
