namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// The model cannot be upgraded without risking a different result: an operator whose meaning
/// changed and that the upgrader does not know how to rewrite, an unknown operator, or an opset
/// range it does not cover. Nothing is written when this is thrown.
/// </summary>
public sealed class OpsetUpgradeException : NotSupportedException
{
    public OpsetUpgradeException(string message, string? opType = null, string? node = null, long? opset = null)
        : base(message)
    {
        OpType = opType;
        Node = node;
        Opset = opset;
    }

    /// <summary>The operator that blocked the upgrade, when one did.</summary>
    public string? OpType { get; }

    /// <summary>How messages name the node, when one blocked the upgrade.</summary>
    public string? Node { get; }

    /// <summary>The opset step at which the operator's signature changed, when known.</summary>
    public long? Opset { get; }
}
