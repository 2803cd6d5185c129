namespace EdgeRuntime.Compression.Opset;

/// <summary>The largest absolute difference between two models' values of one output.</summary>
public sealed record OutputDifference(string Output, long Elements, double MaxAbsDifference);
