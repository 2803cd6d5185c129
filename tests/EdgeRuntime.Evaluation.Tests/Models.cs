using EdgeRuntime.Onnx;

namespace EdgeRuntime.Evaluation.Tests;

/// <summary>Small ONNX models built with our graph layer.</summary>
internal static class Models
{
    /// <summary>y = x · W over x: float[batch, rows], W: [rows, columns].</summary>
    public static string Linear(string path, float[] weights, int rows, int columns)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", OnnxDataType.Float, OnnxDim.Symbolic("batch"), OnnxDim.Known(rows)));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, OnnxDim.Symbolic("batch"), OnnxDim.Known(columns)));
        graph.AddInitializer(TensorData.Create(weights, rows, columns).ToProto("w"));
        graph.AddNode("MatMul", ["x", "w"], ["y"]);
        model.Save(path);
        return path;
    }

    /// <summary>y = x * factor over x: float[batch, width] (or a fixed batch).</summary>
    public static string Scale(string path, float factor, int width = 3, long? fixedBatch = null, OnnxDataType inputType = OnnxDataType.Float)
    {
        var model = OnnxModel.Create();
        var graph = model.Graph;
        OnnxDim batch = fixedBatch is long b ? OnnxDim.Known(b) : OnnxDim.Symbolic("batch");
        graph.Inputs.Add(OnnxValueInfo.CreateTensor("x", inputType, batch, OnnxDim.Known(width)));
        graph.Outputs.Add(OnnxValueInfo.CreateTensor("y", OnnxDataType.Float, batch, OnnxDim.Known(width)));
        graph.AddInitializer(TensorData.Scalar(factor).ToProto("factor"));
        string input = "x";
        if (inputType != OnnxDataType.Float)
        {
            var cast = graph.AddNode("Cast", ["x"], ["x_float"]);
            cast.SetInt("to", (long)OnnxDataType.Float);
            input = "x_float";
        }
        graph.AddNode("Mul", [input, "factor"], ["y"]);
        model.Save(path);
        return path;
    }
}
