using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>Shape and MAC rules of convolutions and pooling, with their window arithmetic.</summary>
internal sealed partial class ShapeInference
{
    private static IEnumerable<(string[] Ops, Func<ShapeInference, NodeProto, long> Rule)> ConvolutionRules() =>
    [
        (["Conv", "ConvInteger"], static (s, n) => s.Conv(n, 0, 1)),
        (["QLinearConv"], static (s, n) => s.Conv(n, 0, 3)),
        (["ConvTranspose"], static (s, n) => s.ConvTranspose(n)),
        (["MaxPool", "AveragePool", "LpPool"], static (s, n) => s.Pool(n)),
        (["GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"], static (s, n) => s.GlobalPool(n)),
    ];

    private long Conv(NodeProto node, int inputIndex, int weightIndex)
    {
        long[] x = InputShape(node, inputIndex);
        long[] w = InputShape(node, weightIndex);
        if (x.Length < 3 || w.Length != x.Length)
        {
            throw new UnresolvedShapeException($"input shape {TensorShapes.Format(x)} and weight shape {TensorShapes.Format(w)} do not fit a convolution");
        }

        int spatial = x.Length - 2;
        long group = node.GetInt("group", 1);
        if (w[1] * group != x[1])
        {
            throw new UnresolvedShapeException($"weight expects {w[1] * group} input channels but the input has {x[1]}");
        }

        long[] kernel = node.GetInts("kernel_shape", w[2..]);
        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        string autoPad = node.GetString("auto_pad", "NOTSET");
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = w[0];
        for (int i = 0; i < spatial; i++)
        {
            output[2 + i] = WindowOutputSize(x[2 + i], kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial], autoPad, ceilMode: false);
        }

        SetOutput(node, 0, output);
        return checked(x[0] * w[0] * TensorShapes.Product(output, 2, output.Length) * w[1] * TensorShapes.Product(kernel, 0, kernel.Length));
    }

    private long ConvTranspose(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        long[] w = InputShape(node, 1);
        if (x.Length < 3 || w.Length != x.Length || w[0] != x[1])
        {
            throw new UnresolvedShapeException($"input shape {TensorShapes.Format(x)} and weight shape {TensorShapes.Format(w)} do not fit a transposed convolution");
        }

        int spatial = x.Length - 2;
        long group = node.GetInt("group", 1);
        long[] kernel = node.GetInts("kernel_shape", w[2..]);
        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        long[] outputPadding = node.GetInts("output_padding", new long[spatial]);
        long[] outputShape = node.GetInts("output_shape");
        string autoPad = node.GetString("auto_pad", "NOTSET");
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = w[1] * group;
        for (int i = 0; i < spatial; i++)
        {
            if (outputShape.Length > 0)
            {
                output[2 + i] = outputShape[outputShape.Length == x.Length ? 2 + i : i];
            }
            else if (autoPad is "SAME_UPPER" or "SAME_LOWER")
            {
                output[2 + i] = x[2 + i] * strides[i];
            }
            else
            {
                output[2 + i] = strides[i] * (x[2 + i] - 1) + outputPadding[i] + (dilations[i] * (kernel[i] - 1)) + 1 - pads[i] - pads[i + spatial];
            }
        }

        SetOutput(node, 0, output);
        return checked(x[0] * x[1] * TensorShapes.Product(x, 2, x.Length) * w[1] * TensorShapes.Product(kernel, 0, kernel.Length));
    }

    private long Pool(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        if (x.Length < 3)
        {
            throw new UnresolvedShapeException($"pooling needs an N,C,spatial input, got {TensorShapes.Format(x)}");
        }

        int spatial = x.Length - 2;
        long[] kernel = node.GetInts("kernel_shape");
        if (kernel.Length != spatial)
        {
            throw new UnresolvedShapeException($"kernel_shape {TensorShapes.Format(kernel)} does not fit input {TensorShapes.Format(x)}");
        }

        long[] strides = node.GetInts("strides", Filled(spatial, 1));
        long[] dilations = node.GetInts("dilations", Filled(spatial, 1));
        long[] pads = node.GetInts("pads", new long[2 * spatial]);
        string autoPad = node.GetString("auto_pad", "NOTSET");
        bool ceilMode = node.GetInt("ceil_mode") != 0;
        CheckLengths(node, spatial, kernel, strides, dilations, pads);

        var output = new long[x.Length];
        output[0] = x[0];
        output[1] = x[1];
        for (int i = 0; i < spatial; i++)
        {
            output[2 + i] = WindowOutputSize(x[2 + i], kernel[i], strides[i], dilations[i], pads[i], pads[i + spatial], autoPad, ceilMode);
        }

        SetOutput(node, 0, output);
        SetOutput(node, 1, output);
        return 0;
    }

    private long GlobalPool(NodeProto node)
    {
        long[] x = InputShape(node, 0);
        if (x.Length < 3)
        {
            throw new UnresolvedShapeException($"global pooling needs an N,C,spatial input, got {TensorShapes.Format(x)}");
        }

        var output = Filled(x.Length, 1);
        output[0] = x[0];
        output[1] = x[1];
        SetOutput(node, 0, output);
        return 0;
    }

    private static long WindowOutputSize(long input, long kernel, long stride, long dilation, long padBegin, long padEnd, string autoPad, bool ceilMode)
    {
        if (stride <= 0 || dilation <= 0 || kernel <= 0)
        {
            throw new UnresolvedShapeException($"kernel {kernel}, stride {stride} and dilation {dilation} must be positive");
        }

        long effectiveKernel = (dilation * (kernel - 1)) + 1;
        switch (autoPad)
        {
            case "SAME_UPPER" or "SAME_LOWER":
                return CeilDiv(input, stride);
            case "VALID":
                if (input < effectiveKernel)
                {
                    throw new UnresolvedShapeException($"kernel extent {effectiveKernel} is larger than the input size {input}");
                }

                return CeilDiv(input - effectiveKernel + 1, stride);
            default:
                long span = input + padBegin + padEnd - effectiveKernel;
                if (span < 0)
                {
                    throw new UnresolvedShapeException($"kernel extent {effectiveKernel} is larger than the padded input size {input + padBegin + padEnd}");
                }

                long size = (ceilMode ? CeilDiv(span, stride) : span / stride) + 1;

                // With ceil_mode the last window must still start inside the input or left padding.
                if (ceilMode && (size - 1) * stride >= input + padBegin)
                {
                    size--;
                }

                return size;
        }
    }

    private static long CeilDiv(long numerator, long denominator) => (numerator + denominator - 1) / denominator;

    private static long[] Filled(int length, long value)
    {
        var array = new long[length];
        Array.Fill(array, value);
        return array;
    }

    private static void CheckLengths(NodeProto node, int spatial, long[] kernel, long[] strides, long[] dilations, long[] pads)
    {
        if (kernel.Length != spatial || strides.Length != spatial || dilations.Length != spatial || pads.Length != 2 * spatial)
        {
            throw new UnresolvedShapeException(
                $"kernel_shape, strides, dilations or pads of {GraphNodes.Describe(node)} do not match {spatial} spatial dims");
        }
    }
}
