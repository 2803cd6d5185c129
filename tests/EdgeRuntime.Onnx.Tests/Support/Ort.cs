using Microsoft.ML.OnnxRuntime;

namespace EdgeRuntime.Onnx.Tests.Support;

/// <summary>Runs models in a real ONNX Runtime session.</summary>
internal static class Ort
{
    public sealed record Output(long[] Shape, byte[] RawBytes, float[]? Floats);

    /// <summary>Runs the model on float inputs and returns every graph output.</summary>
    public static Dictionary<string, Output> Run(OnnxModel model, params (string Name, float[] Values, long[] Shape)[] inputs) =>
        Run(model.ToBytes(), model.Graph.Outputs.Select(output => output.Name).ToArray(), inputs);

    public static Dictionary<string, Output> Run(byte[] modelBytes, string[] outputNames, params (string Name, float[] Values, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(modelBytes, options);
        return RunSession(session, outputNames, inputs);
    }

    public static Dictionary<string, Output> RunFile(string modelPath, string[] outputNames, params (string Name, float[] Values, long[] Shape)[] inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        using var session = new InferenceSession(modelPath, options);
        return RunSession(session, outputNames, inputs);
    }

    private static Dictionary<string, Output> RunSession(InferenceSession session, string[] outputNames, (string Name, float[] Values, long[] Shape)[] inputs)
    {
        var values = inputs.Select(input => OrtValue.CreateTensorValueFromMemory(input.Values, input.Shape)).ToList();
        try
        {
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs.Select(input => input.Name).ToArray(), values, outputNames);
            var results = new Dictionary<string, Output>();
            for (int i = 0; i < outputNames.Length; i++)
            {
                var info = outputs[i].GetTensorTypeAndShape();
                byte[] raw = outputs[i].GetTensorMutableRawData().ToArray();
                float[]? floats = info.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float
                    ? outputs[i].GetTensorDataAsSpan<float>().ToArray()
                    : null;
                results[outputNames[i]] = new Output(info.Shape, raw, floats);
            }

            return results;
        }
        finally
        {
            foreach (var value in values)
            {
                value.Dispose();
            }
        }
    }
}
