namespace EdgeRuntime.Onnx;

/// <summary>
/// Thrown when bytes that should hold an ONNX model or tensor cannot be read as one:
/// truncated or corrupt protobuf, missing required parts, or data whose size does not
/// match its declared type and shape.
/// </summary>
public sealed class OnnxFormatException : Exception
{
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    public OnnxFormatException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public OnnxFormatException(string message, string? modelPath, Exception? innerException = null)
        : base(message, innerException)
    {
        ModelPath = modelPath;
    }

    public OnnxFormatException()
    {
    }

    /// <summary>The file the problem was found in, when the model came from a file.</summary>
    public string? ModelPath { get; }
}
