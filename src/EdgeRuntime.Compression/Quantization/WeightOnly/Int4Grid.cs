namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>The 16 levels of one block: how its scale and zero point are chosen and how a weight maps to a code.</summary>
internal static class Int4Grid
{
    /// <summary>
    /// Asymmetric: the block's range, widened to include 0, spread over codes 0..15. Symmetric: zero point 8,
    /// and the block's largest-magnitude weight maps to code 0 (level -8) exactly, so all 16 levels are used;
    /// that makes the scale negative when that weight is positive, which dequantization does not mind.
    /// </summary>
    public static (float Scale, byte ZeroPoint) Choose(ReadOnlySpan<float> block, bool symmetric)
    {
        if (symmetric)
        {
            float extreme = 0;
            foreach (float value in block)
            {
                if (Math.Abs(value) > Math.Abs(extreme))
                {
                    extreme = value;
                }
            }
            return (extreme == 0 ? 1f : extreme / -8f, Int4Blocks.SymmetricZeroPoint);
        }
        float min = 0, max = 0;
        foreach (float value in block)
        {
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }
        if (max == min)
        {
            return (1f, 0);
        }
        float scale = (max - min) / 15f;
        byte zeroPoint = (byte)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0, 15);
        return (scale, zeroPoint);
    }

    public static byte Code(float value, float scale, byte zeroPoint) =>
        (byte)Math.Clamp(MathF.Round(value / scale, MidpointRounding.ToEven) + zeroPoint, 0, 15);
}
