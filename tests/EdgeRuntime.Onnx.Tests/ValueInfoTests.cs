using EdgeRuntime.Onnx.Tests.Support;
using Onnx;

namespace EdgeRuntime.Onnx.Tests;

public sealed class ValueInfoTests
{
    [Fact]
    public void Fixture_input_has_a_symbolic_batch_dim()
    {
        var graph = TestModels.FashionCnn().Graph;
        var input = graph.FindValueInfo("input")!;

        var shape = input.GetShape()!;

        Assert.Equal(OnnxDataType.Float, input.GetElementType());
        Assert.Equal(4, shape.Count);
        Assert.True(shape[0].IsSymbolic);
        Assert.Equal("batch", shape[0].Symbol);
        Assert.Equal([1L, 28L, 28L], shape.Skip(1).Select(dim => dim.Value!.Value));
        Assert.Equal("batch,1,28,28", string.Join(",", shape));
        Assert.Equal(OnnxDataType.Float, graph.FindValueInfo("logits")!.GetElementType());
    }

    [Fact]
    public void Created_value_infos_read_back()
    {
        var info = OnnxValueInfo.CreateTensor("x", OnnxDataType.Float16, "n", 3, OnnxDim.Unknown);

        var shape = info.GetShape()!;

        Assert.True(info.IsTensor());
        Assert.Equal(OnnxDataType.Float16, info.GetElementType());
        Assert.Equal([OnnxDim.Symbolic("n"), OnnxDim.Known(3), OnnxDim.Unknown], shape);
        Assert.Equal(1, shape[2].ValueOr(1));
        Assert.Equal("?", shape[2].ToString());

        info.SetShape(7);
        Assert.Equal([OnnxDim.Known(7)], info.GetShape());
    }

    [Fact]
    public void Shape_and_type_are_absent_when_not_declared()
    {
        var unknownShape = OnnxValueInfo.CreateTensorOfUnknownShape("y", OnnxDataType.Int64);
        var notATensor = new ValueInfoProto { Name = "seq", Type = new TypeProto { SequenceType = new TypeProto.Types.Sequence() } };

        Assert.Null(unknownShape.GetShape());
        Assert.Equal(OnnxDataType.Int64, unknownShape.GetElementType());
        Assert.Null(notATensor.GetShape());
        Assert.Equal(OnnxDataType.Undefined, notATensor.GetElementType());
        Assert.Throws<InvalidOperationException>(() => notATensor.SetShape(1));
    }
}
