namespace EdgeRuntime.Compression.Opset;

/// <summary>One rewrite the upgrader made: which node, at which opset step, and what it did.</summary>
/// <param name="Node">How messages name the node, e.g. <c>node 'clip_3' (Clip)</c>.</param>
/// <param name="OpType">The operator before the rewrite (Upsample becomes Resize, for example).</param>
/// <param name="Opset">The opset at which the operator's signature changed.</param>
/// <param name="Description">What was done, in words.</param>
public sealed record OpsetChange(string Node, string OpType, long Opset, string Description);
