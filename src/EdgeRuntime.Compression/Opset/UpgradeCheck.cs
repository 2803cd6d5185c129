namespace EdgeRuntime.Compression.Opset;

/// <summary>How far the upgraded model's outputs are from the original's on the same inputs, per output.</summary>
public sealed record UpgradeCheck(int Samples, IReadOnlyList<OutputDifference> Outputs)
{
    public double MaxAbsDifference => Outputs.Count == 0 ? 0 : Outputs.Max(output => output.MaxAbsDifference);
}
