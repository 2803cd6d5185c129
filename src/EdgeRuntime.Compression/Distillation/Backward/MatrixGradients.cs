using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of MatMul and Gemm, emitted as MatMuls (Gemm's bias is not optional before opset 11).</summary>
internal static class MatrixGradients
{
    public static void MatMul(NodeProto node, string dy, GradientContext g)
    {
        string a = node.Input[0], b = node.Input[1];
        long[] aShape = g.Shape(a), bShape = g.Shape(b), yShape = g.Shape(node.Output[0]);
        if (aShape.Length < 2 || bShape.Length != 2)
        {
            throw new NotSupportedException($"{GraphNodes.Describe(node)}: only a matrix or batch of matrices times a 2-D matrix is differentiated");
        }
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, g.Emit("MatMul", [dy, g.Transpose(b, [1, 0])]));
        }
        if (g.Wants(node, 1))
        {
            long depth = aShape[^1], width = yShape[^1];
            string aRows = g.Reshape(a, [-1, depth]);
            string dyRows = g.Reshape(dy, [-1, width]);
            g.Pass(node, 1, Product(g, aRows, true, dyRows, false));
        }
    }

    public static void Gemm(NodeProto node, string dy, GradientContext g)
    {
        string a = node.Input[0], b = node.Input[1];
        bool transA = node.GetInt("transA") != 0, transB = node.GetInt("transB") != 0;
        float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
        if (g.Wants(node, 0))
        {
            g.Pass(node, 0, transA ? Product(g, b, transB, dy, true, alpha) : Product(g, dy, false, b, !transB, alpha));
        }
        if (g.Wants(node, 1))
        {
            g.Pass(node, 1, transB ? Product(g, dy, true, a, transA, alpha) : Product(g, a, !transA, dy, false, alpha));
        }
        if (node.Input.Count > 2 && node.Input[2].Length > 0 && g.Wants(node, 2))
        {
            string scaled = beta == 1f ? dy : g.Emit("Mul", [dy, g.Scalar(beta)]);
            g.Pass(node, 2, g.Unbroadcast(scaled, node.Output[0], node.Input[2]));
        }
    }

    // alpha * op(a) * op(b) for matrices.
    private static string Product(GradientContext g, string a, bool transposeA, string b, bool transposeB, float alpha = 1f)
    {
        string left = transposeA ? g.Transpose(a, [1, 0]) : a, right = transposeB ? g.Transpose(b, [1, 0]) : b;
        string product = g.Emit("MatMul", [left, right]);
        return alpha == 1f ? product : g.Emit("Mul", [product, g.Scalar(alpha)]);
    }
}
