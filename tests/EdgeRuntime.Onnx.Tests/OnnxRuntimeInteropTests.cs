using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

/// <summary>ONNX Runtime reads the tensors this layer writes, and agrees with how it reads typed fields.</summary>
public sealed class OnnxRuntimeInteropTests
{
    public static TheoryData<OnnxDataType> Types => TensorSamples.Types;

    private static OnnxModel IdentityOf(TensorProto constant)
    {
        var model = OnnxModel.Create("identity");
        model.Graph.AddInitializer(constant);
        model.Graph.AddNode("Identity", [constant.Name], ["y"]);
        model.Graph.Outputs.Add(OnnxValueInfo.CreateTensorOfUnknownShape("y", (OnnxDataType)constant.DataType));
        return model;
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Runtime_reads_written_tensors_bit_for_bit(OnnxDataType type)
    {
        var sample = TensorSamples.Sample(type);
        var proto = sample.ToProto("c");

        var output = Ort.Run(IdentityOf(proto))["y"];

        Assert.Equal(sample.Dims, output.Shape);
        Assert.Equal(proto.RawData.ToByteArray(), output.RawBytes);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Runtime_and_this_layer_read_typed_fields_alike(OnnxDataType type)
    {
        var typed = TensorSamples.TypedFieldProto(type);
        typed.Name = "c";

        var output = Ort.Run(IdentityOf(typed))["y"];

        Assert.Equal(TensorData.FromProto(typed).ToProto("c").RawData.ToByteArray(), output.RawBytes);
    }

    [Fact]
    public void Edited_fixture_weights_change_the_runtime_output_as_expected()
    {
        // Refit-style edit: zero the last layer's weights and set its bias; logits must equal the bias.
        var model = TestModels.FashionCnn();
        var graph = model.Graph;
        var gemm = graph.GetProducer("logits")!;
        string weightName = gemm.Input[1];
        string biasName = gemm.Input[2];
        var weights = graph.GetInitializerData(weightName);
        float[] bias = [.. Enumerable.Range(0, 10).Select(i => i * 0.5f)];
        graph.SetInitializer(weightName, TensorData.Create(new float[weights.ElementCount], [.. weights.Dims]));
        graph.SetInitializer(biasName, TensorData.Create(bias, 10));

        float[] image = new float[28 * 28];
        var logits = Ort.Run(model, ("input", image, [1, 1, 28, 28]))["logits"];

        Assert.Equal(bias, logits.Floats!);
    }
}
