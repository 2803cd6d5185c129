using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Rewrites one node from the operator version just below <paramref name="opset"/> to the version
/// introduced at <paramref name="opset"/>, or throws <see cref="OpsetUpgradeException"/>.
/// </summary>
internal delegate void OpAdapter(UpgradeContext context, NodeProto node, long opset);
