using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape rules of reductions (ReduceMean and kin, ArgMax/ArgMin).</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> ReductionRules() =>
    [
        (
        [
            "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum",
            "ReduceLogSumExp", "ReduceSumSquare"
        ], static (s, n) => s.Reduce(n)),
        (["ArgMax", "ArgMin"], static (s, n) => s.ArgReduce(n)),
    ];

    private long Reduce(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        bool keepDims = node.GetInt("keepdims", 1) != 0;
        long[] axes = node.HasAttribute("axes") ? node.GetInts("axes") : HasInput(node, 1) ? InputValues(node, 1) : [];
        if (axes.Length == 0 && node.GetInt("noop_with_empty_axes") != 0)
        {
            SetOutput(node, 0, x);
            return 0;
        }

        var reduced = new HashSet<int>();
        if (axes.Length == 0)
        {
            for (int i = 0; i < x.Length; i++)
            {
                reduced.Add(i);
            }
        }
        else
        {
            foreach (long axis in axes)
            {
                reduced.Add(TensorShapes.NormalizeAxis(axis, x.Length));
            }
        }

        SetOutput(node, 0, ReducedShape(x, reduced, keepDims));
        return 0;
    }

    private long ArgReduce(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        int axis = TensorShapes.NormalizeAxis(node.GetInt("axis"), x.Length);
        SetOutput(node, 0, ReducedShape(x, [axis], node.GetInt("keepdims", 1) != 0));
        return 0;
    }

    private static long[] ReducedShape(long[] x, HashSet<int> reduced, bool keepDims)
    {
        var output = new List<long>();
        for (int i = 0; i < x.Length; i++)
        {
            if (!reduced.Contains(i))
            {
                output.Add(x[i]);
            }
            else if (keepDims)
            {
                output.Add(1);
            }
        }

        return [.. output];
    }
}
