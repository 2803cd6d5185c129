using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape and MAC rules of matrix products and BatchNormalization.</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> MatrixRules() =>
    [
        (["Gemm"], static (s, n) => s.Gemm(n)),
        (["MatMul", "MatMulInteger"], static (s, n) => s.MatMul(n, 0, 1)),
        (["QLinearMatMul"], static (s, n) => s.MatMul(n, 0, 3)),
        (["BatchNormalization"], static (s, n) => s.BatchNormalization(n)),
    ];

    private long Gemm(NodeProto node)
    {
        long[] a = InputShape(node, 0);
        long[] b = InputShape(node, 1);
        if (a.Length != 2 || b.Length != 2)
        {
            throw new UnresolvedShapeException($"Gemm needs 2-D inputs, got {TensorShapes.Format(a)} and {TensorShapes.Format(b)}");
        }

        bool transA = node.GetInt("transA") != 0;
        bool transB = node.GetInt("transB") != 0;
        long m = transA ? a[1] : a[0];
        long k = transA ? a[0] : a[1];
        long kB = transB ? b[1] : b[0];
        long n = transB ? b[0] : b[1];
        if (k != kB)
        {
            throw new UnresolvedShapeException($"inner dims differ: A gives {k}, B gives {kB}");
        }

        SetOutput(node, 0, [m, n]);
        return checked(m * k * n);
    }

    private long MatMul(NodeProto node, int leftIndex, int rightIndex)
    {
        long[] a = InputShape(node, leftIndex);
        long[] b = InputShape(node, rightIndex);
        if (a.Length == 0 || b.Length == 0)
        {
            throw new UnresolvedShapeException("MatMul inputs cannot be scalars");
        }

        // numpy semantics: a 1-D operand gains a dim of 1 that is dropped again from the result.
        bool vectorLeft = a.Length == 1;
        bool vectorRight = b.Length == 1;
        long[] left = vectorLeft ? [1, a[0]] : a;
        long[] right = vectorRight ? [b[0], 1] : b;
        long m = left[^2];
        long k = left[^1];
        long n = right[^1];
        if (right[^2] != k)
        {
            throw new UnresolvedShapeException($"inner dims differ: {TensorShapes.Format(a)} x {TensorShapes.Format(b)}");
        }

        long[] batch = BroadcastShapes(left[..^2], right[..^2]);
        var output = new List<long>(batch);
        if (!vectorLeft)
        {
            output.Add(m);
        }

        if (!vectorRight)
        {
            output.Add(n);
        }

        SetOutput(node, 0, [.. output]);
        return checked(TensorShapes.Product(batch, 0, batch.Length) * m * k * n);
    }

    // One multiply-add per element: at inference BatchNormalization is a per-channel scale and shift.

    private long BatchNormalization(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        SetOutput(node, 0, x);
        return TensorShapes.ElementCount(x);
    }
}
