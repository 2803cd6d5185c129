namespace EdgeRuntime.Compression.Quantization;

/// <summary>Linear quantization arithmetic: q = round(x / scale) + zero_point, clamped to the type's range.</summary>
public static class QuantMath
{
    /// <summary>Asymmetric uint8 parameters for an activation range; the range is widened to hold 0 exactly.</summary>
    public static (float Scale, byte ZeroPoint) UInt8Params(float min, float max)
    {
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        float scale = (max - min) / 255f;
        if (!(scale > 0) || !float.IsFinite(scale))
        {
            return (1f, 0);
        }
        float zero = MathF.Round(-min / scale);
        return (scale, (byte)Math.Clamp(zero, 0, 255));
    }

    /// <summary>Symmetric int8 per-channel weights along <paramref name="axis"/>; zero point 0.</summary>
    /// <param name="reducedRange">7-bit weights ([-63, 63]) so u8×s8 products cannot saturate 16-bit sums on x86 without VNNI.</param>
    public static (sbyte[] Quantized, float[] Scales) Int8PerChannel(float[] weights, IReadOnlyList<long> dims, int axis, bool reducedRange)
    {
        int channels = (int)dims[axis];
        long inner = 1;
        for (int i = axis + 1; i < dims.Count; i++)
        {
            inner *= dims[i];
        }
        long outer = weights.LongLength / (channels * inner);
        int limit = reducedRange ? 63 : 127;
        var scales = new float[channels];
        for (long o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                long start = (o * channels + c) * inner;
                for (long i = 0; i < inner; i++)
                {
                    scales[c] = Math.Max(scales[c], Math.Abs(weights[start + i]));
                }
            }
        }
        for (int c = 0; c < channels; c++)
        {
            scales[c] = scales[c] > 0 ? scales[c] / limit : 1f;
        }
        var quantized = new sbyte[weights.Length];
        for (long o = 0; o < outer; o++)
        {
            for (int c = 0; c < channels; c++)
            {
                long start = (o * channels + c) * inner;
                float inverse = 1f / scales[c];
                for (long i = 0; i < inner; i++)
                {
                    quantized[start + i] = (sbyte)Math.Clamp(MathF.Round(weights[start + i] * inverse), -limit, limit);
                }
            }
        }
        return (quantized, scales);
    }

    /// <summary>The float weights an int8 tensor stands for.</summary>
    public static float[] Dequantize(sbyte[] quantized, float[] scales, IReadOnlyList<long> dims, int axis)
    {
        int channels = (int)dims[axis];
        long inner = 1;
        for (int i = axis + 1; i < dims.Count; i++)
        {
            inner *= dims[i];
        }
        var values = new float[quantized.Length];
        for (long index = 0; index < quantized.LongLength; index++)
        {
            int channel = (int)(index / inner % channels);
            values[index] = quantized[index] * scales[channel];
        }
        return values;
    }

    /// <summary>int32 bias at scale input_scale × weight_scale[c], as integer convolution kernels expect.</summary>
    public static (int[] Quantized, float[] Scales) Int32Bias(float[] bias, float inputScale, float[] weightScales)
    {
        var scales = new float[bias.Length];
        var quantized = new int[bias.Length];
        for (int c = 0; c < bias.Length; c++)
        {
            float scale = inputScale * weightScales[weightScales.Length == 1 ? 0 : c];
            scales[c] = scale > 0 ? scale : 1f;
            double q = Math.Round(bias[c] / (double)scales[c]);
            quantized[c] = (int)Math.Clamp(q, int.MinValue, int.MaxValue);
        }
        return (quantized, scales);
    }
}
