using System.Numerics.Tensors;
using EdgeRuntime.Numerics;

namespace EdgeRuntime.Compression.Pruning;

/// <summary>
/// One-shot Optimal-Brain-Surgeon pruning of a linear layer with a shared Hessian H = X^T X of its
/// inputs, column by column as SparseGPT does: the weights with the least saliency w^2 / [H^-1]_jj
/// are removed in each block of columns and the error each removal makes is pushed onto the columns
/// not yet visited, through the upper Cholesky factor of H^-1.
/// </summary>
internal static class SecondOrderSolver
{
    /// <param name="weights">W [rows, columns], row-major; pruned and updated in place.</param>
    /// <param name="gram">X^T X [columns, columns] of the layer's inputs.</param>
    /// <param name="sparsity">Fraction of weights to zero, chosen per block of columns.</param>
    /// <returns>The number of weights set to zero.</returns>
    public static long Prune(float[] weights, int rows, int columns, double[] gram, double sparsity, double damping = 0.01, int blockSize = 128)
    {
        int n = columns;
        var h = (double[])gram.Clone();
        var w = new double[weights.Length];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = weights[i];
        }
        for (int j = 0; j < n; j++)
        {
            if (h[j * n + j] == 0)
            {
                // An input that is always zero: its weights do nothing, drop them and keep H invertible.
                h[j * n + j] = 1;
                for (int r = 0; r < rows; r++)
                {
                    w[r * n + j] = 0;
                }
            }
        }
        var l = DenseLinearAlgebra.DampedCholesky(h, n, damping);
        var inverse = DenseLinearAlgebra.InverseFromCholesky(l, n);
        var inverseFactor = DenseLinearAlgebra.Cholesky(inverse, n)
            ?? DenseLinearAlgebra.DampedCholesky(inverse, n, 1e-6);
        // upper[j, k] = inverseFactor[k, j]: H^-1 = upper^T upper.
        var upper = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            for (int k = j; k < n; k++)
            {
                upper[j * n + k] = inverseFactor[k * n + j];
            }
        }

        long zeroed = 0;
        for (int start = 0; start < n; start += blockSize)
        {
            int end = Math.Min(n, start + blockSize);
            int width = end - start;
            var saliency = new double[rows * width];
            for (int r = 0; r < rows; r++)
            {
                for (int i = 0; i < width; i++)
                {
                    double d = upper[(start + i) * n + start + i];
                    double value = w[r * n + start + i];
                    saliency[r * width + i] = value * value / (d * d);
                }
            }
            int prune = (int)Math.Floor(saliency.Length * sparsity);
            var mask = new bool[saliency.Length];
            if (prune > 0)
            {
                var order = Enumerable.Range(0, saliency.Length).ToArray();
                Array.Sort(saliency.ToArray(), order);
                for (int i = 0; i < prune; i++)
                {
                    mask[order[i]] = true;
                }
            }
            var errors = new double[rows * width];
            Parallel.For(0, rows, r =>
            {
                var row = w.AsSpan(r * n, n);
                for (int i = 0; i < width; i++)
                {
                    int j = start + i;
                    if (!mask[r * width + i])
                    {
                        continue;
                    }
                    double error = row[j] / upper[j * n + j];
                    row[j] = 0;
                    errors[r * width + i] = error;
                    // Compensate inside the block now; later blocks get the whole block's error at once below.
                    for (int k = j + 1; k < end; k++)
                    {
                        row[k] -= error * upper[j * n + k];
                    }
                }
                if (end < n)
                {
                    var rest = row[end..];
                    for (int i = 0; i < width; i++)
                    {
                        double error = errors[r * width + i];
                        if (error != 0)
                        {
                            TensorPrimitives.MultiplyAdd(upper.AsSpan((start + i) * n + end, n - end), -error, rest, rest);
                        }
                    }
                }
            });
            zeroed += prune;
        }
        for (int i = 0; i < w.Length; i++)
        {
            weights[i] = (float)w[i];
        }
        return zeroed;
    }
}
