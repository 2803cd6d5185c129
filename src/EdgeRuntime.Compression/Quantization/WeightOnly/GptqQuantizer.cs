using System.Numerics.Tensors;
using EdgeRuntime.Numerics;

namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>
/// GPTQ (Frantar et al., 2022) for one [K, N] weight used as y = x·W: rows of W (input features) are
/// quantized in order; the error each row leaves, divided by the matching diagonal of the Cholesky factor
/// of H⁻¹, is subtracted from the rows still to come along that factor's row. Block scales are chosen
/// when a block starts, from the weights as updated so far.
/// </summary>
internal static class GptqQuantizer
{
    /// <param name="weight">Row-major [K, N]; not modified.</param>
    /// <param name="hessian">Row-major [K, K]: the mean of x·xᵀ over the calibration rows.</param>
    public static Int4Blocks Quantize(float[] weight, int k, int n, double[] hessian, int blockSize, bool symmetric, double dampening)
    {
        var w = (float[])weight.Clone();
        var h = (double[])hessian.Clone();
        double meanDiagonal = 0;
        for (int i = 0; i < k; i++)
        {
            if (h[i * k + i] == 0)
            {
                // An input that is always zero: its weights never matter, so they quantize to zero freely.
                h[i * k + i] = 1;
                Array.Clear(w, i * n, n);
            }
            meanDiagonal += h[i * k + i];
        }
        meanDiagonal /= k;
        double[] upper = [];
        for (double damping = dampening; ; damping *= 10)
        {
            var damped = (double[])h.Clone();
            for (int i = 0; i < k; i++)
            {
                damped[i * k + i] += damping * meanDiagonal;
            }
            if (DenseLinearAlgebra.UpperCholeskyOfInverse(damped, k) is { } factor)
            {
                upper = factor;
                break;
            }
            if (damping >= 1)
            {
                throw new InvalidOperationException("GPTQ: the calibration Hessian stays singular even with heavy damping; use round-to-nearest");
            }
        }
        var blocks = new Int4Blocks(k, n, blockSize, symmetric);
        var errors = new float[n];
        var values = new float[blockSize];
        for (int row = 0; row < k; row++)
        {
            if (row % blockSize == 0)
            {
                ChooseBlockParameters(w, k, n, row, blocks, values);
            }
            double diagonal = upper[row * k + row];
            for (int column = 0; column < n; column++)
            {
                int block = blocks.BlockIndex(column, row);
                float scale = blocks.Scales[block];
                byte zeroPoint = blocks.ZeroPoints[block];
                float value = w[row * n + column];
                byte code = Int4Grid.Code(value, scale, zeroPoint);
                blocks.SetCode(row, column, code);
                errors[column] = (float)((value - (code - zeroPoint) * scale) / diagonal);
            }
            var source = errors.AsSpan();
            for (int later = row + 1; later < k; later++)
            {
                float factor = (float)upper[row * k + later];
                if (factor != 0)
                {
                    var target = w.AsSpan(later * n, n);
                    TensorPrimitives.MultiplyAdd(source, -factor, target, target);
                }
            }
        }
        return blocks;
    }

    private static void ChooseBlockParameters(float[] w, int k, int n, int start, Int4Blocks blocks, float[] values)
    {
        int length = Math.Min(blocks.BlockSize, k - start);
        for (int column = 0; column < n; column++)
        {
            for (int i = 0; i < length; i++)
            {
                values[i] = w[(start + i) * n + column];
            }
            var (scale, zeroPoint) = Int4Grid.Choose(values.AsSpan(0, length), blocks.Symmetric);
            int block = blocks.BlockIndex(column, start);
            blocks.Scales[block] = scale;
            blocks.ZeroPoints[block] = zeroPoint;
        }
    }
}
