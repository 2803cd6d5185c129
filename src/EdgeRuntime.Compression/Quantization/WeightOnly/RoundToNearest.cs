namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>Plain blockwise round-to-nearest: each block gets its own scale (and zero point) from its own range.</summary>
internal static class RoundToNearest
{
    /// <param name="weight">Row-major [K, N].</param>
    public static Int4Blocks Quantize(float[] weight, int k, int n, int blockSize, bool symmetric)
    {
        var blocks = new Int4Blocks(k, n, blockSize, symmetric);
        var values = new float[blockSize];
        for (int column = 0; column < n; column++)
        {
            for (int start = 0; start < k; start += blockSize)
            {
                int length = Math.Min(blockSize, k - start);
                for (int i = 0; i < length; i++)
                {
                    values[i] = weight[(start + i) * n + column];
                }
                var (scale, zeroPoint) = Int4Grid.Choose(values.AsSpan(0, length), symmetric);
                int block = blocks.BlockIndex(column, start);
                blocks.Scales[block] = scale;
                blocks.ZeroPoints[block] = zeroPoint;
                for (int i = 0; i < length; i++)
                {
                    blocks.SetCode(start + i, column, Int4Grid.Code(values[i], scale, zeroPoint));
                }
            }
        }
        return blocks;
    }
}
