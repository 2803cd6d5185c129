namespace EdgeRuntime.Onnx;

/// <summary>One mistake found by <see cref="OnnxGraph.Validate"/>, with a message meant for people.</summary>
public sealed record GraphProblem(GraphProblemKind Kind, string Message)
{
    public override string ToString() => Message;
}
