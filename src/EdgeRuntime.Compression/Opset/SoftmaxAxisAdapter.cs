using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Opset;

/// <summary>
/// Softmax, LogSoftmax and Hardmax before opset 13 flatten the input to 2-D at <c>axis</c>
/// (default 1) and normalise over everything from that axis on; from 13 they normalise along the
/// single axis (default -1). The two agree when the axis is the last one; otherwise the old
/// meaning is kept by flattening explicitly and reshaping back.
/// </summary>
internal static class SoftmaxAxisAdapter
{
    public static void Adapt(UpgradeContext context, NodeProto node, long opset)
    {
        long axis = node.GetInt("axis", 1);
        string x = node.Input[0];
        if (context.RankOf(x) is int rank)
        {
            long normalized = axis < 0 ? axis + rank : axis;
            if (normalized < 0 || normalized >= rank)
            {
                throw context.Refuse(node, opset, $"axis {axis} is outside the rank {rank} of its input '{x}'");
            }

            if (normalized == rank - 1)
            {
                node.SetInt("axis", normalized);
                context.Record(node, node.OpType, opset, $"axis {axis} is the last axis of a rank-{rank} input: same meaning, made explicit");
                return;
            }
        }

        // Old semantics spelled out: Flatten(axis) -> op over axis 1 -> Reshape to the input's shape.
        string y = node.Output[0];
        string shape = context.Graph.UniqueName($"{x}_shape");
        string flat = context.Graph.UniqueName($"{x}_2d");
        string flatResult = context.Graph.UniqueName($"{y}_2d");
        var shapeNode = GraphNodes.Create("Shape", [x], [shape], context.Graph.UniqueName($"{NodeName(node)}_shape"));
        var flatten = GraphNodes.Create("Flatten", [x], [flat], context.Graph.UniqueName($"{NodeName(node)}_flatten"));
        flatten.SetInt("axis", axis);
        var reshape = GraphNodes.Create("Reshape", [flatResult, shape], [y], context.Graph.UniqueName($"{NodeName(node)}_reshape"));
        context.InsertBefore(node, shapeNode);
        context.InsertBefore(node, flatten);
        context.InsertAfter(node, reshape);
        node.Input[0] = flat;
        node.Output[0] = flatResult;
        node.SetInt("axis", 1);
        context.Graph.Invalidate();
        context.Record(node, node.OpType, opset, $"axis {axis} is not known to be the last axis: wrapped in Flatten(axis={axis}) and Reshape to keep the 2-D semantics");
    }

    private static string NodeName(NodeProto node) => node.Name.Length > 0 ? node.Name : node.OpType;
}
