using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>
/// One small model per converted operator, built at its old opset; the upgraded model must load in
/// ONNX Runtime at the new opset and give the same outputs as the original on the same inputs.
/// </summary>
public sealed class OpsetUpgraderTests
{
    [Fact]
    public void Clip_bounds_move_from_attributes_to_inputs()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [2, 6]), ("y", [2, 6]));
        graph.AddNode("Clip", ["x"], ["y"], "clip").SetFloat("min", -0.3f).SetFloat("max", 0.4f);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(12, seed: 1), [2, 6]));

        var clip = upgraded.Graph.Nodes.Single(n => n.OpType == "Clip");
        Assert.Empty(clip.Attribute);
        Assert.Equal(3, clip.Input.Count);
        Assert.Equal(-0.3f, upgraded.Graph.GetInitializerData(clip.Input[1]).GetValues<float>()[0]);
    }

    [Fact]
    public void Clip_with_only_an_upper_bound_leaves_the_lower_input_empty()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [4, 3]), ("y", [4, 3]));
        graph.AddNode("Relu", ["x"], ["r"]);
        graph.AddNode("Clip", ["r"], ["y"], "relu6").SetFloat("max", 0.25f);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(12, seed: 2), [4, 3]));

        var clip = upgraded.Graph.Nodes.Single(n => n.OpType == "Clip");
        Assert.Equal(["r", "", clip.Input[2]], clip.Input.ToArray());
    }

    [Theory]
    [InlineData("constant", 1.5f)]
    [InlineData("constant", 0f)]
    [InlineData("reflect", 0f)]
    [InlineData("edge", 0f)]
    public void Pad_attributes_become_inputs(string mode, float value)
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [1, 2, 3, 4]), ("y", null));
        var pad = graph.AddNode("Pad", ["x"], ["y"], "pad").SetInts("pads", [0, 0, 1, 2, 0, 0, 2, 1]).SetString("mode", mode);
        if (value != 0f)
        {
            pad.SetFloat("value", value);
        }

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(24, seed: 3), [1, 2, 3, 4]));

        var node = upgraded.Graph.Nodes.Single(n => n.OpType == "Pad");
        Assert.Equal(value != 0f ? 3 : 2, node.Input.Count);
        Assert.Equal(mode, node.GetString("mode", "constant"));
        Assert.False(node.HasAttribute("pads"));
    }

    [Fact]
    public void Slice_attributes_become_int64_inputs()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [3, 8]), ("y", null));
        graph.AddNode("Slice", ["x"], ["y"], "slice").SetInts("starts", [1, -6]).SetInts("ends", [long.MaxValue, -1]).SetInts("axes", [0, 1]);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(24, seed: 4), [3, 8]));

        Assert.Equal(4, upgraded.Graph.Nodes.Single(n => n.OpType == "Slice").Input.Count);
    }

    [Fact]
    public void TopK_k_becomes_an_input_and_both_outputs_match()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [2, 7]), ("values", null));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("indices", OnnxDataType.Int64));
        graph.AddNode("TopK", ["x"], ["values", "indices"], "topk").SetInt("k", 3).SetInt("axis", 1);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(14, seed: 5), [2, 7]));

        var topk = upgraded.Graph.Nodes.Single(n => n.OpType == "TopK");
        Assert.Equal([3L], upgraded.Graph.GetInitializerData(topk.Input[1]).GetValues<long>());
    }

    [Fact]
    public void Squeeze_Unsqueeze_and_ReduceSum_axes_become_inputs()
    {
        var (model, graph) = OpsetModels.Create(11, ("x", [2, 1, 3, 4]), ("y", null));
        graph.AddNode("Squeeze", ["x"], ["s"], "squeeze").SetInts("axes", [1]);
        graph.AddNode("ReduceSum", ["s"], ["r"], "sum").SetInts("axes", [-1]).SetInt("keepdims", 0);
        graph.AddNode("Unsqueeze", ["r"], ["u"], "unsqueeze").SetInts("axes", [0, 3]);
        graph.AddNode("ReduceSum", ["u"], ["y"], "sum_all").SetInt("keepdims", 1);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(24, seed: 6), [2, 1, 3, 4]));

        Assert.All(upgraded.Graph.Nodes.Where(n => n.Name != "sum_all"), node => Assert.Equal(2, node.Input.Count));
        Assert.Single(upgraded.Graph.Nodes.Single(n => n.Name == "sum_all").Input);
    }

    [Fact]
    public void Squeeze_without_axes_still_drops_every_unit_axis()
    {
        var (model, graph) = OpsetModels.Create(12, ("x", [1, 3, 1, 2]), ("y", null));
        graph.AddNode("Squeeze", ["x"], ["y"], "squeeze");

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(6, seed: 7), [1, 3, 1, 2]));

        Assert.Single(upgraded.Graph.Nodes[0].Input);
    }

    [Fact]
    public void Split_sizes_become_an_input()
    {
        var (model, graph) = OpsetModels.Create(11, ("x", [2, 5]), ("a", null));
        graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("b", OnnxDataType.Float));
        graph.AddNode("Split", ["x"], ["a", "b"], "split").SetInt("axis", 1).SetInts("split", [2, 3]);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(10, seed: 8), [2, 5]));

        Assert.Equal(2, upgraded.Graph.Nodes.Single(n => n.OpType == "Split").Input.Count);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    public void BatchNormalization_drops_spatial(int opset)
    {
        var (model, graph) = OpsetModels.Create(opset, ("x", [2, 3, 4, 4]), ("y", [2, 3, 4, 4]));
        foreach (var (name, seed, low) in new[] { ("scale", 11, 0.5f), ("bias", 12, -1f), ("mean", 13, -1f), ("var", 14, 0.5f) })
        {
            graph.AddInitializer(TensorData.Vector(OpsetModels.Values(3, seed, low, 2f)).ToProto(name));
        }

        graph.AddNode("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], "bn").SetInt("spatial", 1).SetFloat("epsilon", 1e-3f);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(96, seed: 9), [2, 3, 4, 4]));

        Assert.False(upgraded.Graph.Nodes.Single().HasAttribute("spatial"));
    }

    [Fact]
    public void Upsample_with_scales_attribute_becomes_Resize()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [1, 2, 3, 4]), ("y", null));
        graph.AddNode("Upsample", ["x"], ["y"], "up").SetFloats("scales", [1f, 1f, 2f, 3f]).SetString("mode", "nearest");

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(24, seed: 10), [1, 2, 3, 4]));

        var resize = upgraded.Graph.Nodes.Single();
        Assert.Equal("Resize", resize.OpType);
        var steps = OpsetUpgrader.Upgrade(model, 13);
        Assert.Equal(1, steps.NodesRewritten);
        Assert.Equal([(9L, "Upsample"), (10L, "Upsample"), (11L, "Resize")], steps.Changes.Select(c => (c.Opset, c.OpType)));
        Assert.Equal("asymmetric", resize.GetString("coordinate_transformation_mode"));
        Assert.Equal("floor", resize.GetString("nearest_mode"));
    }

    [Fact]
    public void Upsample_linear_with_scales_input_becomes_Resize()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [1, 1, 3, 5]), ("y", null));
        graph.AddInitializer(TensorData.Vector(new[] { 1f, 1f, 2f, 1.5f }).ToProto("scales"));
        graph.AddNode("Upsample", ["x", "scales"], ["y"], "up").SetString("mode", "linear");

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(15, seed: 11), [1, 1, 3, 5]));

        Assert.Equal("Resize", upgraded.Graph.Nodes.Single().OpType);
    }

    [Theory]
    [InlineData("nearest", 0.6f)]
    [InlineData("nearest", 0.5f)]
    [InlineData("nearest", 1.7f)]
    [InlineData("nearest", 2f)]
    [InlineData("linear", 0.6f)]
    [InlineData("linear", 3f)]
    public void Resize_10_keeps_its_coordinate_mapping_at_opset_11_and_later(string mode, float scale)
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [1, 2, 6, 8]), ("y", null));
        graph.AddNode("Constant", [], ["scales"], "scales").SetTensor("value", TensorData.Vector(new[] { 1f, 1f, scale, scale }).ToProto("scales"));
        graph.AddNode("Resize", ["x", "scales"], ["y"], "resize").SetString("mode", mode);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(96, seed: 12), [1, 2, 6, 8]));

        Assert.Equal(3, upgraded.Graph.Nodes.Single(n => n.OpType == "Resize").Input.Count);
    }

    [Theory]
    [InlineData("Softmax", 1)]
    [InlineData("Softmax", 2)]
    [InlineData("Softmax", -1)]
    [InlineData("Softmax", null)]
    [InlineData("LogSoftmax", 1)]
    [InlineData("LogSoftmax", 3)]
    [InlineData("Hardmax", 1)]
    public void Softmax_family_keeps_the_old_two_dimensional_meaning(string op, int? axis)
    {
        var (model, graph) = OpsetModels.Create(11, ("x", [2, 3, 4, 5]), ("y", [2, 3, 4, 5]));
        var node = graph.AddNode(op, ["x"], ["y"], "norm");
        if (axis is int value)
        {
            node.SetInt("axis", value);
        }

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(120, seed: 13, -3f, 3f), [2, 3, 4, 5]));

        bool last = axis is 3 or -1;
        Assert.Equal(last ? 1 : 4, upgraded.Graph.Nodes.Count);
    }

    [Fact]
    public void Softmax_of_unknown_rank_is_wrapped_and_still_equal()
    {
        var (model, graph) = OpsetModels.Create(12, ("x", null), ("y", null));
        graph.AddNode("Softmax", ["x"], ["y"], "softmax");

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(24, seed: 14, -2f, 2f), [2, 3, 4]));

        Assert.Equal(["Shape", "Flatten", "Softmax", "Reshape"], upgraded.Graph.Nodes.Select(n => n.OpType));
    }

    [Fact]
    public void Dropout_ratio_becomes_an_input()
    {
        var (model, graph) = OpsetModels.Create(11, ("x", [3, 4]), ("y", [3, 4]));
        graph.AddNode("Dropout", ["x"], ["d"], "dropout").SetFloat("ratio", 0.3f);
        graph.AddNode("Relu", ["d"], ["y"]);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(12, seed: 15), [3, 4]));

        Assert.Equal(2, upgraded.Graph.Nodes.Single(n => n.OpType == "Dropout").Input.Count);
    }

    [Fact]
    public void Scatter_becomes_ScatterElements()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [3, 3]), ("y", [3, 3]));
        graph.AddInitializer(TensorData.Create(new long[] { 1, 0, 2, 0, 2, 1 }, 2, 3).ToProto("indices"));
        graph.AddInitializer(TensorData.Create(new[] { 1f, 2f, 3f, 4f, 5f, 6f }, 2, 3).ToProto("updates"));
        graph.AddNode("Scatter", ["x", "indices", "updates"], ["y"], "scatter").SetInt("axis", 0);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(9, seed: 16), [3, 3]));

        Assert.Equal("ScatterElements", upgraded.Graph.Nodes.Single().OpType);
    }

    [Fact]
    public void Operators_whose_meaning_did_not_change_are_left_alone()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [1, 2, 8, 8]), ("y", null));
        graph.AddNode("MaxPool", ["x"], ["m"], "max").SetInts("kernel_shape", [2, 2]).SetInts("strides", [2, 2]);
        graph.AddNode("AveragePool", ["x"], ["a"], "avg").SetInts("kernel_shape", [2, 2]).SetInts("strides", [2, 2]);
        graph.AddNode("Concat", ["m", "a"], ["c"], "concat").SetInt("axis", 1);
        graph.AddInitializer(TensorData.Vector(new long[] { 3, 0 }).ToProto("rows"));
        graph.AddNode("Gather", ["c", "rows"], ["g"], "gather").SetInt("axis", 1);
        graph.AddInitializer(TensorData.Create(OpsetModels.Values(16, seed: 17), 4, 4).ToProto("w"));
        graph.AddNode("MatMul", ["g", "w"], ["mm"], "matmul");
        graph.AddNode("Sigmoid", ["mm"], ["y"], "sigmoid");
        string before = model.Graph.Proto.ToString();

        var result = OpsetUpgrader.Upgrade(model, 13);

        Assert.Empty(result.Changes);
        Assert.Equal(6, result.NodesChecked);
        Assert.Equal(before, result.Model.Graph.Proto.ToString());
        AssertSameOutputs(model, 13, ("x", OpsetModels.Values(128, seed: 18), [1, 2, 8, 8]));
    }

    [Fact]
    public void Upgrades_past_13_keep_inference_BatchNormalization_and_Softmax()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [1, 2, 3, 3]), ("y", null));
        foreach (var (name, seed, low) in new[] { ("scale", 21, 0.5f), ("bias", 22, -1f), ("mean", 23, -1f), ("var", 24, 0.5f) })
        {
            graph.AddInitializer(TensorData.Vector(OpsetModels.Values(2, seed, low, 2f)).ToProto(name));
        }

        graph.AddNode("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["bn"], "bn");
        graph.AddInitializer(TensorData.Vector(new long[] { 1, -1 }).ToProto("flat"));
        graph.AddNode("Reshape", ["bn", "flat"], ["r"], "reshape");
        graph.AddNode("Softmax", ["r"], ["y"], "softmax");

        var upgraded = AssertSameOutputs(model, 17, ("x", OpsetModels.Values(18, seed: 25), [1, 2, 3, 3]));

        Assert.Equal(8, upgraded.IrVersion);
        Assert.Equal(1, upgraded.Graph.Nodes.Single(n => n.OpType == "Softmax").GetInt("axis"));
    }

    [Fact]
    public void RoiAlign_keeps_its_old_coordinate_default_at_opset_16()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [1, 1, 6, 6]), ("y", null));
        graph.AddInitializer(TensorData.Create(new[] { 0.5f, 0.5f, 4.2f, 3.7f, 1f, 0f, 5f, 5f }, 2, 4).ToProto("rois"));
        graph.AddInitializer(TensorData.Vector(new long[] { 0, 0 }).ToProto("batch_indices"));
        graph.AddNode("RoiAlign", ["x", "rois", "batch_indices"], ["y"], "roi").SetInt("output_height", 2).SetInt("output_width", 2).SetInt("sampling_ratio", 2);

        var upgraded = AssertSameOutputs(model, 16, ("x", OpsetModels.Values(36, seed: 26), [1, 1, 6, 6]));

        Assert.Equal("output_half_pixel", upgraded.Graph.Nodes.Single().GetString("coordinate_transformation_mode"));
    }

    [Fact]
    public void Nodes_inside_If_branches_are_upgraded_too()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [2, 3]), ("y", [2, 3]));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("flag", OnnxDataType.Bool));
        var thenBranch = new GraphProto { Name = "then" };
        thenBranch.Node.Add(GraphNodes.Create("Clip", ["x"], ["t"], "inner_clip"));
        thenBranch.Node[0].SetFloat("min", 0f).SetFloat("max", 0.5f);
        thenBranch.Output.Add(OnnxValueInfo.CreateTensor("t", OnnxDataType.Float, 2, 3));
        var elseBranch = new GraphProto { Name = "else" };
        elseBranch.Node.Add(GraphNodes.Create("Neg", ["x"], ["e"], "inner_neg"));
        elseBranch.Output.Add(OnnxValueInfo.CreateTensor("e", OnnxDataType.Float, 2, 3));
        graph.AddNode("If", ["flag"], ["y"], "branch").SetGraph("then_branch", thenBranch).SetGraph("else_branch", elseBranch);

        var upgraded = AssertSameOutputs(model, 13, ("x", OpsetModels.Values(6, seed: 19), [2, 3]), ("flag", new[] { true }, []));

        var inner = upgraded.Graph.Nodes.Single().GetGraph("then_branch")!;
        Assert.Equal(3, inner.Node.Single().Input.Count);
        Assert.Equal(2, inner.Initializer.Count);
    }

    [Fact]
    public void Old_ir_versions_are_raised_and_new_initializers_declared_where_needed()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [2, 3]), ("y", [2, 3]), irVersion: 3);
        graph.AddNode("Clip", ["x"], ["y"], "clip").SetFloat("min", 0f).SetFloat("max", 1f);

        var toNine = OpsetUpgrader.Upgrade(model, 9);
        var toThirteen = OpsetUpgrader.Upgrade(model, 13);

        Assert.Equal(4, toNine.ToIrVersion);
        Assert.Empty(toNine.Changes);
        Assert.Equal(3, toNine.FromIrVersion);
        Assert.Equal(7, toThirteen.ToIrVersion);
        Assert.Equal(13, toThirteen.Model.OpsetFor(""));
        AssertSameOutputs(model, 13, ("x", OpsetModels.Values(6, seed: 20), [2, 3]));
    }

    [Fact]
    public void The_input_model_is_not_changed()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [2, 2]), ("y", [2, 2]));
        graph.AddNode("Clip", ["x"], ["y"], "clip").SetFloat("min", 0f);
        string before = model.Proto.ToString();

        var result = OpsetUpgrader.Upgrade(model);

        Assert.Equal(before, model.Proto.ToString());
        Assert.Equal(9, model.OpsetFor(""));
        Assert.Equal(13, result.Model.OpsetFor(""));
        Assert.Equal(new Dictionary<string, int> { ["Clip"] = 1 }, result.ChangesByOpType);
    }

    [Fact]
    public void A_model_already_at_the_target_comes_back_unchanged()
    {
        var (model, graph) = OpsetModels.Create(13, ("x", [2, 2]), ("y", [2, 2]));
        graph.AddNode("Relu", ["x"], ["y"]);

        var result = OpsetUpgrader.Upgrade(model, 13);

        Assert.Empty(result.Changes);
        Assert.Equal(model.Proto.ToString(), result.Model.Proto.ToString());
    }

    /// <summary>Upgrades, checks the opset and the outputs in ONNX Runtime, and returns the upgraded model.</summary>
    internal static OnnxModel AssertSameOutputs(OnnxModel model, long target, params (string Name, Array Values, long[] Shape)[] inputs)
    {
        var result = OpsetUpgrader.Upgrade(model, target);
        Assert.Equal(target, result.Model.OpsetFor(""));
        Assert.Empty(result.Model.Graph.Validate());
        var expected = OpsetModels.Run(model, inputs);
        var actual = OpsetModels.Run(result.Model, inputs);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, values) in expected)
        {
            Assert.Equal(values.Length, actual[name].Length);
            double worst = values.Zip(actual[name], (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max();
            Assert.True(worst <= 1e-6, $"output '{name}' differs by up to {worst} after upgrading opset {model.OpsetFor("")} to {target}");
        }

        return result.Model;
    }
}

/// <summary>Builders and an ONNX Runtime runner for the small models of the opset tests.</summary>
internal static class OpsetModels
{
    /// <summary>An empty model at an old opset with one float input and one float output (null shape: undeclared).</summary>
    public static (OnnxModel Model, OnnxGraph Graph) Create(long opset, (string Name, long[]? Shape) input, (string Name, long[]? Shape) output, long? irVersion = null)
    {
        var model = OnnxModel.Create(opsetVersion: opset, irVersion: irVersion ?? Math.Max(4, Math.Min(opset - 4, 7)));
        var graph = model.Graph;
        graph.Inputs.Add(Declare(input.Name, input.Shape));
        graph.Outputs.Add(Declare(output.Name, output.Shape));
        return (model, graph);
    }

    /// <summary>Seeded values in [low, high).</summary>
    public static float[] Values(int count, int seed, float low = -1f, float high = 1f)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => low + (high - low) * random.NextSingle())];
    }

    /// <summary>Runs the model on float, long or bool inputs; every output comes back as doubles.</summary>
    public static Dictionary<string, double[]> Run(OnnxModel model, params (string Name, Array Values, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model.ToBytes(), options);
        var values = inputs.Select(input => input.Values switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, input.Shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(l, input.Shape),
            bool[] b => OrtValue.CreateTensorValueFromMemory(b, input.Shape),
            _ => throw new NotSupportedException(input.Values.GetType().Name),
        }).ToArray();
        try
        {
            var outputNames = session.OutputNames.ToArray();
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, outputNames);
            var outputs = new Dictionary<string, double[]>();
            for (int i = 0; i < outputNames.Length; i++)
            {
                var result = results[i];
                outputs[outputNames[i]] = result.GetTensorTypeAndShape().ElementDataType switch
                {
                    Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float => [.. result.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v)],
                    Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64 => [.. result.GetTensorDataAsSpan<long>().ToArray().Select(v => (double)v)],
                    var other => throw new NotSupportedException($"output {outputNames[i]} is {other}"),
                };
            }

            return outputs;
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }

    private static ValueInfoProto Declare(string name, long[]? shape) =>
        shape is null
            ? OnnxValueInfo.CreateTensorOfUnknownShape(name, OnnxDataType.Float)
            : OnnxValueInfo.CreateTensor(name, OnnxDataType.Float, [.. shape.Select(d => OnnxDim.Known(d))]);
}
