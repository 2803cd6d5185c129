using EdgeRuntime.Data;
using EdgeRuntime.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace EdgeRuntime.Compression.Tests.Support;

/// <summary>Runs models in ONNX Runtime and reads what its optimizer made of them.</summary>
internal static class Ort
{
    static Ort()
    {
        // Create the process's ONNX Runtime environment the runtime's way (global thread pools) before
        // this helper's plain sessions would create a default one that runtime sessions cannot use.
        EdgeRuntime.Inference.SharedOrtEnvironment.EnsureInitialized();
    }

    /// <summary>Runs a model on float inputs and returns every output as float (float16 outputs widened).</summary>
    public static Dictionary<string, float[]> Run(OnnxModel model, params (string Name, float[] Values, int[] Shape)[] inputs)
    {
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model.ToBytes(), options);
        var feeds = inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Values, i.Shape))).ToList();
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r => r.Value switch
        {
            DenseTensor<float> f => f.ToArray(),
            DenseTensor<Float16> h => [.. h.Select(v => (float)v)],
            DenseTensor<long> l => [.. l.Select(v => (float)v)],
            _ => throw new NotSupportedException($"output {r.Name} is {r.Value.GetType().Name}"),
        });
    }

    /// <summary>Op types (with domain) of the graph ONNX Runtime runs after its optimizations.</summary>
    public static List<string> OptimizedOps(OnnxModel model, string directory)
    {
        string path = System.IO.Path.Combine(directory, $"optimized-{Guid.NewGuid():N}.onnx");
        using (var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            OptimizedModelFilePath = path,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        })
        using (new InferenceSession(model.ToBytes(), options))
        {
        }
        return [.. OnnxModel.Load(path).Graph.Nodes.Select(n => n.Domain is "" or "ai.onnx" ? n.OpType : $"{n.Domain}.{n.OpType}")];
    }

    public static float[] RandomValues(int count, int seed, float low = -1, float high = 1)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = low + (high - low) * random.NextSingle();
        }
        return values;
    }

    public static string SaveNpy(string path, float[] values, params long[] shape)
    {
        NpyFile.Save(path, NpyArray.FromValues<float>(values, shape));
        return path;
    }

    public static double MaxAbsDifference(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }
        return max;
    }

    /// <summary>Mean over rows of the cosine similarity of two [rows, width] outputs.</summary>
    public static double MeanCosine(float[] a, float[] b, int width)
    {
        double sum = 0;
        int rows = a.Length / width;
        for (int r = 0; r < rows; r++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int i = r * width; i < (r + 1) * width; i++)
            {
                dot += a[i] * b[i];
                na += a[i] * a[i];
                nb += b[i] * b[i];
            }
            sum += dot / Math.Sqrt(na * nb);
        }
        return sum / rows;
    }

    /// <summary>Largest error relative to the reference's largest magnitude, a scale-free closeness measure.</summary>
    public static double RelativeMaxError(float[] reference, float[] actual) =>
        MaxAbsDifference(reference, actual) / reference.Max(Math.Abs);
}
