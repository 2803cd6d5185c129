using EdgeRuntime.Compression.Opset;
using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Tests;

/// <summary>What the upgrader cannot convert exactly it refuses, naming the node, the operator and the opset.</summary>
public sealed class OpsetUpgraderRefusalTests
{
    [Fact]
    public void An_unknown_standard_domain_operator_is_refused_by_name()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [2]), ("y", [2]));
        graph.AddNode("ImageScaler", ["x"], ["y"], "scaler");

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("node 'scaler' (ImageScaler)", error.Message);
        Assert.Contains("not a standard ONNX operator", error.Message);
        Assert.Equal("ImageScaler", error.OpType);
    }

    [Fact]
    public void An_operator_that_did_not_exist_at_the_models_opset_is_refused()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [2]), ("y", [2]));
        graph.AddNode("Erf", ["x"], ["y"], "erf");

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("'Erf' does not exist at the model's opset 8", error.Message);
    }

    [Fact]
    public void Scan_8_is_refused_because_its_batch_semantics_changed()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [1, 2, 3]), ("y", null));
        var body = new GraphProto { Name = "body" };
        body.Input.Add(OnnxValueInfo.CreateTensor("s", OnnxDataType.Float, 3));
        body.Output.Add(OnnxValueInfo.CreateTensor("s", OnnxDataType.Float, 3));
        graph.AddNode("Scan", ["", "x"], ["y"], "scan").SetGraph("body", body).SetInt("num_scan_inputs", 1);

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("node 'scan' (Scan) from opset 8 to 13", error.Message);
        Assert.Equal(9, error.Opset);
    }

    [Fact]
    public void BatchNormalization_with_per_activation_statistics_is_refused()
    {
        var (model, graph) = OpsetModels.Create(8, ("x", [1, 2, 2]), ("y", [1, 2, 2]));
        foreach (string name in new[] { "scale", "bias", "mean", "var" })
        {
            graph.AddInitializer(TensorData.Create(new[] { 1f, 1f, 1f, 1f }, 2, 2).ToProto(name));
        }

        graph.AddNode("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"], "bn").SetInt("spatial", 0);

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("spatial=0", error.Message);
    }

    [Fact]
    public void BatchNormalization_in_training_mode_is_refused_past_opset_13()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [1, 2, 2, 2]), ("y", null));
        foreach (string name in new[] { "scale", "bias", "mean", "var" })
        {
            graph.AddInitializer(TensorData.Vector(new[] { 1f, 1f }).ToProto(name));
        }

        graph.AddNode("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y", "m", "v", "sm", "sv"], "bn");

        Assert.Equal(13, OpsetUpgrader.Upgrade(model, 13).ToOpset);
        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model, 14));
        Assert.Contains("training mode", error.Message);
        Assert.Equal(14, error.Opset);
    }

    [Fact]
    public void Nearest_Resize_with_scales_computed_at_run_time_is_refused()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [1, 1, 2, 2]), ("y", null));
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("scales", OnnxDataType.Float, 4));
        graph.AddNode("Resize", ["x", "scales"], ["y"], "resize").SetString("mode", "nearest");

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("node 'resize' (Resize)", error.Message);
        Assert.Contains("computed at run time", error.Message);
        Assert.Equal(11, error.Opset);
    }

    [Fact]
    public void Nearest_Resize_that_enlarges_and_shrinks_at_once_is_refused()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [1, 1, 4, 4]), ("y", null));
        graph.AddInitializer(TensorData.Vector(new[] { 1f, 1f, 2f, 0.5f }).ToProto("scales"));
        graph.AddNode("Resize", ["x", "scales"], ["y"], "resize");

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("enlarge some axes and shrink others", error.Message);
    }

    [Fact]
    public void A_Dropout_mask_that_is_read_is_refused_because_its_type_changed()
    {
        var (model, graph) = OpsetModels.Create(9, ("x", [2, 2]), ("y", [2, 2]));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("mask", OnnxDataType.Float, 2, 2));
        graph.AddNode("Dropout", ["x"], ["y", "mask"], "dropout");

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("mask output 'mask' is used", error.Message);
    }

    [Fact]
    public void Clip_on_data_of_unknown_type_is_refused_rather_than_guessed()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [2]), ("y", [2]));
        graph.AddNode("Mystery", ["x"], ["m"], "custom", domain: "com.example");
        graph.AddNode("Clip", ["m"], ["y"], "clip").SetFloat("min", 0f);

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("element type of its input 'm'", error.Message);
    }

    [Fact]
    public void Nodes_of_other_domains_are_left_as_they_are()
    {
        var (model, graph) = OpsetModels.Create(10, ("x", [2]), ("y", [2]));
        model.SetOpset("com.example", 1);
        graph.AddNode("Mystery", ["x"], ["y"], "custom", domain: "com.example").SetInt("axes", 1);

        var result = OpsetUpgrader.Upgrade(model);

        Assert.Equal(0, result.NodesChecked);
        Assert.Equal(1, result.Model.Graph.Nodes.Single().GetInt("axes"));
        Assert.Equal(1, result.Model.OpsetFor("com.example"));
    }

    [Theory]
    [InlineData(6, 13, "models older than opset 7")]
    [InlineData(13, 11, "downgrading is not supported")]
    [InlineData(9, 18, "outside the range")]
    [InlineData(9, 5, "outside the range")]
    public void Opset_ranges_outside_what_is_known_are_refused(long source, long target, string expected)
    {
        var (model, graph) = OpsetModels.Create(source, ("x", [2]), ("y", [2]));
        graph.AddNode("Relu", ["x"], ["y"]);

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model, target));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_model_without_a_standard_opset_import_is_refused()
    {
        var (model, _) = OpsetModels.Create(9, ("x", [2]), ("y", [2]));
        model.Proto.OpsetImport.Clear();
        model.SetOpset("com.example", 1);

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("imports no standard ONNX opset", error.Message);
    }

    [Fact]
    public void Local_functions_are_refused_because_their_bodies_are_not_converted()
    {
        var (model, graph) = OpsetModels.Create(11, ("x", [2]), ("y", [2]));
        graph.AddNode("Relu", ["x"], ["y"]);
        model.Proto.Functions.Add(new FunctionProto { Name = "helper", Domain = "local" });

        var error = Assert.Throws<OpsetUpgradeException>(() => OpsetUpgrader.Upgrade(model));

        Assert.Contains("local function(s) (helper)", error.Message);
    }
}
