using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Quantization.Dynamic;

/// <summary>
/// A MatMul or Gemm whose weight is a constant float matrix, read as y = x · W (+ bias) with W in
/// [K, N] layout whatever the op stored (Gemm's transB and alpha are folded in), so every weight
/// quantizer sees one shape.
/// </summary>
/// <param name="Input">The activation x.</param>
/// <param name="Output">The tensor the node writes.</param>
/// <param name="Weight">W, row-major [K, N].</param>
/// <param name="WeightName">The initializer W came from (shared weights are quantized once per form).</param>
/// <param name="BiasTensor">A tensor to add after the product (Gemm's C), or null.</param>
internal sealed record LinearLayer(NodeProto Node, string Input, string Output, float[] Weight, int K, int N, string WeightName, string? BiasTensor)
{
    public string Describe() => GraphNodes.Describe(Node);

    /// <summary>Reads the node as a linear layer; null when it is not one (no constant weight) or cannot be.</summary>
    /// <param name="skipReason">Why a Gemm with a constant weight still cannot be rewritten; null otherwise.</param>
    /// <param name="scope">Where the node is when it sits in an If/Loop/Scan body: its weights may be initializers of an
    /// enclosing graph, and new names must be unique in the whole model. Null: the node is in <paramref name="graph"/>, the main graph.</param>
    public static LinearLayer? TryRead(OnnxGraph graph, NodeProto node, bool includeGemm, out string? skipReason, ScopedGraph? scope = null)
    {
        skipReason = null;
        if (node.Domain is not ("" or "ai.onnx") || node.Input.Count < 2 || node.Output.Count != 1)
        {
            return null;
        }
        bool isGemm = node.OpType == "Gemm";
        if (node.OpType != "MatMul" && !(isGemm && includeGemm))
        {
            return null;
        }
        TensorData? Constant(string name) => scope is null ? ConstantValue(graph, name) : scope.ConstantValue(name);
        if (Constant(node.Input[1]) is not { DataType: OnnxDataType.Float, Rank: 2 } data)
        {
            return null;
        }
        int rows = checked((int)data.Dims[0]), columns = checked((int)data.Dims[1]);
        float[] values = data.ToFloatArray();
        if (!isGemm)
        {
            return new LinearLayer(node, node.Input[0], node.Output[0], values, rows, columns, node.Input[1], null);
        }
        if (node.GetInt("transA") != 0)
        {
            skipReason = "Gemm with transA is not rewritten";
            return null;
        }
        float alpha = node.GetFloat("alpha", 1f), beta = node.GetFloat("beta", 1f);
        bool transB = node.GetInt("transB") != 0;
        int k = transB ? columns : rows, n = transB ? rows : columns;
        var matrix = new float[values.Length];
        for (int r = 0; r < k; r++)
        {
            for (int c = 0; c < n; c++)
            {
                matrix[r * n + c] = alpha * (transB ? values[c * columns + r] : values[r * columns + c]);
            }
        }
        string? bias = null;
        if (node.Input.Count > 2 && node.Input[2].Length > 0 && beta != 0)
        {
            bias = node.Input[2];
            if (beta != 1)
            {
                if (Constant(bias) is not { } biasData)
                {
                    skipReason = "Gemm with beta ≠ 1 on a computed C is not rewritten";
                    return null;
                }
                var scaled = biasData.ToFloatArray();
                for (int i = 0; i < scaled.Length; i++)
                {
                    scaled[i] *= beta;
                }
                bias = (scope?.Root.Graph ?? graph).UniqueName($"{bias}_scaled");
                graph.AddInitializer(TensorData.Create(scaled, [.. biasData.Dims]).ToProto(bias));
            }
        }
        string weightKey = $"{node.Input[1]}{(transB ? "^T" : "")}{(alpha != 1 ? $"*{alpha}" : "")}";
        return new LinearLayer(node, node.Input[0], node.Output[0], matrix, k, n, weightKey, bias);
    }

    /// <summary>
    /// The value of a tensor fixed at export: an initializer, or the output of a Constant node (older
    /// exporters, e.g. Paddle's, store every weight that way). Null for computed tensors.
    /// </summary>
    public static TensorData? ConstantValue(OnnxGraph graph, string name)
    {
        if (graph.IsInitializer(name))
        {
            return graph.GetInitializerData(name);
        }
        if (graph.GetProducer(name) is { OpType: "Constant" } constant
            && constant.Domain is ("" or "ai.onnx")
            && constant.FindAttribute("value") is { T: { } tensor })
        {
            return TensorData.FromProto(tensor, graph.ExternalDataDirectory);
        }
        return null;
    }

    /// <summary>Removes Constant nodes nothing reads any more (weights replaced by their quantized form).</summary>
    public static void RemoveUnusedConstants(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes.Where(n => n.OpType == "Constant" && n.Output.Count == 1 && !graph.IsUsed(n.Output[0])).ToList())
        {
            graph.RemoveNode(node);
        }
    }
}
