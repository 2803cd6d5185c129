using System.Reflection;
using System.Text.Json;

namespace EdgeRuntime.Samples;

/// <summary>
/// The fixture model shipped inside this assembly: a small CNN trained on Fashion-MNIST
/// (see FashionCnn/train_fashion_cnn.py and FashionCnn/provenance.json).
/// </summary>
public static class SampleModels
{
    public const string FashionCnnInputName = "input";
    public const string FashionCnnOutputName = "logits";

    /// <summary>The ONNX file's bytes.</summary>
    public static byte[] FashionCnn() => ReadResource("EdgeRuntime.Samples.fashion-cnn.onnx");

    /// <summary>Top-1 accuracy on the 10,000 Fashion-MNIST test images, measured when the model was trained.</summary>
    public static double FashionCnnRecordedTop1()
    {
        using var document = JsonDocument.Parse(ReadResource("EdgeRuntime.Samples.fashion-cnn.provenance.json"));
        return document.RootElement.GetProperty("test_top1").GetDouble();
    }

    public static string FashionCnnProvenance() =>
        System.Text.Encoding.UTF8.GetString(ReadResource("EdgeRuntime.Samples.fashion-cnn.provenance.json"));

    /// <summary>Writes the model into <paramref name="directory"/> and returns its path.</summary>
    public static string WriteFashionCnn(string directory, string fileName = "fashion-cnn.onnx")
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, fileName);
        File.WriteAllBytes(path, FashionCnn());
        return path;
    }

    private static byte[] ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"resource '{name}' is missing from {Assembly.GetExecutingAssembly().GetName().Name}");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
