namespace EdgeRuntime.Onnx;

/// <summary>
/// bfloat16 is the upper half of an IEEE float32; .NET has no type for it, so tensors of
/// this type are held as float and converted at the edges.
/// </summary>
public static class BFloat16Bits
{
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Rounds to nearest, ties to even, the same as PyTorch and ONNX Runtime.</summary>
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            // Keep the sign and force a quiet-NaN payload bit so truncation cannot turn NaN into infinity.
            return (ushort)((bits >> 16) | 0x0040);
        }

        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
