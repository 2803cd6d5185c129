namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// A [K, N] weight matrix in 4-bit blocks along K, laid out as ONNX Runtime's MatMulNBits wants it:
/// for output column n and block b, codes of rows b·block .. b·block+block-1; dequantized as
/// (code - zero point) · scale. Rows past K (padding of the last block) hold the zero point.
/// </summary>
internal sealed class Int4Blocks
{
    public Int4Blocks(int k, int n, int blockSize, bool symmetric)
    {
        K = k;
        N = n;
        BlockSize = blockSize;
        Symmetric = symmetric;
        BlockCount = (k + blockSize - 1) / blockSize;
        Codes = new byte[n * BlockCount * blockSize];
        Scales = new float[n * BlockCount];
        ZeroPoints = new byte[n * BlockCount];
        Array.Fill(ZeroPoints, SymmetricZeroPoint);
        Array.Fill(Codes, SymmetricZeroPoint);
    }

    /// <summary>MatMulNBits' default zero point when none is given: 2^(bits-1).</summary>
    public const byte SymmetricZeroPoint = 8;

    public int K { get; }
    public int N { get; }
    public int BlockSize { get; }
    public int BlockCount { get; }
    public bool Symmetric { get; }

    /// <summary>One code (0..15) per byte, [N, BlockCount, BlockSize].</summary>
    public byte[] Codes { get; }

    /// <summary>[N, BlockCount].</summary>
    public float[] Scales { get; }

    /// <summary>[N, BlockCount]; all 8 when symmetric.</summary>
    public byte[] ZeroPoints { get; }

    public int BlockIndex(int column, int row) => column * BlockCount + row / BlockSize;

    public void SetCode(int row, int column, byte code) => Codes[(column * BlockCount * BlockSize) + row] = code;

    public float Dequantized(int row, int column)
    {
        int block = BlockIndex(column, row);
        return (Codes[column * BlockCount * BlockSize + row] - ZeroPoints[block]) * Scales[block];
    }

    /// <summary>B input: [N, BlockCount, BlockSize / 2], two codes per byte, the first in the low nibble.</summary>
    public byte[] PackCodes()
    {
        var packed = new byte[Codes.Length / 2];
        for (int i = 0; i < packed.Length; i++)
        {
            packed[i] = (byte)(Codes[2 * i] | (Codes[2 * i + 1] << 4));
        }
        return packed;
    }

    /// <summary>zero_points input: [N, ceil(BlockCount / 2)], packed along the blocks like B.</summary>
    public byte[] PackZeroPoints()
    {
        int perColumn = (BlockCount + 1) / 2;
        var packed = new byte[N * perColumn];
        for (int column = 0; column < N; column++)
        {
            for (int block = 0; block < BlockCount; block++)
            {
                int shift = (block % 2) * 4;
                packed[column * perColumn + block / 2] |= (byte)(ZeroPoints[column * BlockCount + block] << shift);
            }
        }
        return packed;
    }
}
