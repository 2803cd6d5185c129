namespace EdgeRuntime.Compression.Sparse;

/// <summary>
/// The weight layouts of the native custom-op library (domain com.edgeruntime.sparse), built from a layer's
/// matrix W [outputs, columns] (row-major, as <see cref="Pruning.WeightLayer.ReadMatrix"/> gives it).
/// </summary>
public static class SparseWeights
{
    /// <summary>Outputs per block of the block format: one AVX2 register, two NEON registers.</summary>
    public const int BlockWidth = 8;

    /// <summary>
    /// Compressed sparse rows, one row per output: what SparseMatMul (W as the CSR form of its transpose) and
    /// SparseConv1x1 (W [M, C]) take. Exact zeros are dropped; pruned weights are exact zeros.
    /// </summary>
    public static (long[] RowStarts, int[] Columns, float[] Values) Csr(float[] matrix, int outputs, int columns)
    {
        CheckShape(matrix, outputs, columns);
        var starts = new long[outputs + 1];
        var indices = new List<int>();
        var values = new List<float>();
        for (int o = 0; o < outputs; o++)
        {
            for (int c = 0; c < columns; c++)
            {
                float w = matrix[(long)o * columns + c];
                if (w != 0f)
                {
                    indices.Add(c);
                    values.Add(w);
                }
            }
            starts[o + 1] = values.Count;
        }
        return (starts, [.. indices], [.. values]);
    }

    /// <summary>
    /// 1 x 8 blocks along the outputs, what SparseBlockMatMul takes: group g (outputs 8g .. 8g + 7) owns blocks
    /// groupStarts[g] .. groupStarts[g + 1]; block b holds W[8g .. 8g + 7, blockRows[b]] in values[8b ..], zero
    /// past the last output. A block is kept when any of its weights is non-zero.
    /// </summary>
    public static (long[] GroupStarts, int[] BlockRows, float[] Values) Blocks(float[] matrix, int outputs, int columns)
    {
        CheckShape(matrix, outputs, columns);
        int groups = (outputs + BlockWidth - 1) / BlockWidth;
        var starts = new long[groups + 1];
        var rows = new List<int>();
        var values = new List<float>();
        for (int g = 0; g < groups; g++)
        {
            int first = g * BlockWidth, width = Math.Min(BlockWidth, outputs - first);
            for (int c = 0; c < columns; c++)
            {
                bool any = false;
                for (int t = 0; t < width && !any; t++)
                {
                    any = matrix[(long)(first + t) * columns + c] != 0f;
                }
                if (!any)
                {
                    continue;
                }
                rows.Add(c);
                for (int t = 0; t < BlockWidth; t++)
                {
                    values.Add(t < width ? matrix[(long)(first + t) * columns + c] : 0f);
                }
            }
            starts[g + 1] = rows.Count;
        }
        return (starts, [.. rows], [.. values]);
    }

    /// <summary>Fraction of the 1 x 8 blocks with no non-zero weight: the sparsity the block format can use.</summary>
    public static double BlockSparsity(float[] matrix, int outputs, int columns)
    {
        CheckShape(matrix, outputs, columns);
        int groups = (outputs + BlockWidth - 1) / BlockWidth;
        long total = (long)groups * columns;
        if (total == 0)
        {
            return 0;
        }
        var (starts, _, _) = Blocks(matrix, outputs, columns);
        return 1.0 - (double)starts[groups] / total;
    }

    private static void CheckShape(float[] matrix, int outputs, int columns)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (outputs < 0 || columns < 0 || matrix.LongLength != (long)outputs * columns)
        {
            throw new ArgumentException($"a weight matrix of {matrix.LongLength} values is not [{outputs}, {columns}]");
        }
    }
}
