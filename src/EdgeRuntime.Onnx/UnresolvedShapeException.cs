namespace EdgeRuntime.Onnx;

/// <summary>Raised inside shape inference to give up on one node with a reason; never escapes <see cref="MacCounter"/>.</summary>
internal sealed class UnresolvedShapeException : Exception
{
    public UnresolvedShapeException(string message)
        : base(message)
    {
    }

    public UnresolvedShapeException()
    {
    }

    public UnresolvedShapeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
