using EdgeRuntime.Onnx;
using Onnx;

namespace EdgeRuntime.Compression.Distillation.Backward;

/// <summary>Gradients of Conv with any group, stride, dilation and padding.</summary>
internal static class ConvolutionGradients
{
    public static void Conv(NodeProto node, string dy, GradientContext g)
    {
        string x = node.Input[0], w = node.Input[1];
        long[] xShape = g.Shape(x), wShape = g.Shape(w), yShape = g.Shape(node.Output[0]);
        int spatial = xShape.Length - 2;
        long group = node.GetInt("group", 1);
        long[] kernel = wShape[2..];
        long[] strides = node.GetInts("strides", GradientContext.Ones(spatial));
        long[] dilations = node.GetInts("dilations", GradientContext.Ones(spatial));
        long[] pads = Pads(node, xShape, kernel, strides, dilations);

        if (g.Wants(node, 0))
        {
            var outputPadding = new long[spatial];
            for (int i = 0; i < spatial; i++)
            {
                long effective = dilations[i] * (kernel[i] - 1) + 1;
                outputPadding[i] = (xShape[i + 2] + pads[i] + pads[i + spatial] - effective) % strides[i];
            }
            var transposed = GraphNodes.Create("ConvTranspose", [dy, w], [g.Fresh()])
                .SetInt("group", group).SetInts("strides", strides).SetInts("dilations", dilations)
                .SetInts("pads", pads).SetInts("kernel_shape", kernel).SetInts("output_padding", outputPadding);
            g.Pass(node, 0, g.EmitNode(transposed));
        }
        if (g.Wants(node, 1))
        {
            g.Pass(node, 1, WeightGradient(g, x, dy, xShape, wShape, yShape, group, strides, dilations, pads));
        }
        if (node.Input.Count > 2 && g.Wants(node, 2))
        {
            g.Pass(node, 2, g.ReduceSum(dy, [0, .. Enumerable.Range(2, spatial)], keepDims: false));
        }
    }

    private static string WeightGradient(GradientContext g, string x, string dy, long[] xShape, long[] wShape, long[] yShape, long group,
        long[] strides, long[] dilations, long[] pads)
    {
        int spatial = xShape.Length - 2;
        long batch = xShape[0], outputs = wShape[0], inputsPerGroup = wShape[1], outputsPerGroup = outputs / group;
        long[] xSpatial = xShape[2..], ySpatial = yShape[2..], kernel = wShape[2..];
        bool pointwise = group == 1 && kernel.All(k => k == 1) && strides.All(s => s == 1) && pads.All(p => p == 0);
        if (pointwise)
        {
            // dW = sum over the batch of dY (out x pixels) times X^T (pixels x in): batched GEMM, then the batch summed.
            long pixels = TensorShapes.Product(xSpatial, 0, spatial);
            string dyFlat = g.Reshape(dy, [batch, outputs, pixels]);
            string xFlat = g.Transpose(g.Reshape(x, [batch, inputsPerGroup, pixels]), [0, 2, 1]);
            string perSample = g.Emit("MatMul", [dyFlat, xFlat]);
            return g.Reshape(g.ReduceSum(perSample, [0], keepDims: false), wShape);
        }

        // A convolution of the input with the output gradient as kernel: the batch becomes the reduced
        // channel axis (grouped by the layer's groups), the layer's input channels become the batch,
        // and stride and dilation swap roles.
        long[] spatialPerm = [.. Enumerable.Range(3, spatial).Select(i => (long)i)];
        string xGrouped = g.Reshape(x, [batch, group, inputsPerGroup, .. xSpatial]);
        string xT = g.Transpose(xGrouped, [2, 1, 0, .. spatialPerm]);
        string xAsBatch = g.Reshape(xT, [inputsPerGroup, group * batch, .. xSpatial]);
        string dyGrouped = g.Reshape(dy, [batch, group, outputsPerGroup, .. ySpatial]);
        string dyT = g.Transpose(dyGrouped, [1, 2, 0, .. spatialPerm]);
        string dyAsKernel = g.Reshape(dyT, [outputs, batch, .. ySpatial]);
        var correlation = GraphNodes.Create("Conv", [xAsBatch, dyAsKernel], [g.Fresh()])
            .SetInt("group", group).SetInts("strides", dilations).SetInts("dilations", strides)
            .SetInts("pads", pads).SetInts("kernel_shape", ySpatial);
        string full = g.EmitNode(correlation);
        var resultSpatial = new long[spatial];
        for (int i = 0; i < spatial; i++)
        {
            long padded = xSpatial[i] + pads[i] + pads[i + spatial];
            resultSpatial[i] = ((padded - ((ySpatial[i] - 1) * strides[i] + 1)) / dilations[i]) + 1;
        }
        if (!resultSpatial.SequenceEqual(kernel))
        {
            full = g.Slice(full, GradientContext.Zeros(spatial), kernel, [.. Enumerable.Range(2, spatial).Select(i => (long)i)]);
        }
        return g.Transpose(full, [1, 0, .. Enumerable.Range(2, spatial).Select(i => (long)i)]);
    }

    private static long[] Pads(NodeProto node, long[] xShape, long[] kernel, long[] strides, long[] dilations)
    {
        int spatial = xShape.Length - 2;
        string autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is "NOTSET" or "")
        {
            return node.GetInts("pads", GradientContext.Zeros(2 * spatial));
        }
        if (autoPad == "VALID")
        {
            return GradientContext.Zeros(2 * spatial);
        }
        var pads = new long[2 * spatial];
        for (int i = 0; i < spatial; i++)
        {
            long size = xShape[i + 2], effective = dilations[i] * (kernel[i] - 1) + 1;
            long output = (size + strides[i] - 1) / strides[i];
            long total = Math.Max(0, (output - 1) * strides[i] + effective - size);
            long small = total / 2, large = total - small;
            (pads[i], pads[i + spatial]) = autoPad == "SAME_LOWER" ? (large, small) : (small, large);
        }
        return pads;
    }
}
