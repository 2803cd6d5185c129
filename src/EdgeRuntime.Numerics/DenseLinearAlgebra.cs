using System.Numerics.Tensors;

namespace EdgeRuntime.Numerics;

/// <summary>
/// The dense symmetric-positive-definite routines that pruning, reconstruction, GPTQ and the fleet's fits need,
/// on row-major double matrices. Sizes here are layer widths (up to a few thousand), so plain O(n^3) Cholesky
/// with vectorised dot products is enough.
/// </summary>
public static class DenseLinearAlgebra
{
    /// <summary>
    /// Lower Cholesky factor of a symmetric matrix, or null when it is not positive definite: when a pivot is not
    /// above <paramref name="relativeTolerance"/> times its diagonal entry (0: merely positive).
    /// </summary>
    public static double[]? Cholesky(ReadOnlySpan<double> a, int n, double relativeTolerance = 0)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            var rowI = l.AsSpan(i * n, n);
            for (int j = 0; j <= i; j++)
            {
                var rowJ = l.AsSpan(j * n, j);
                double sum = a[i * n + j] - TensorPrimitives.Dot(rowI[..j], rowJ);
                if (i == j)
                {
                    if (!(sum > relativeTolerance * Math.Abs(a[i * n + i])) || double.IsNaN(sum))
                    {
                        return null;
                    }
                    rowI[i] = Math.Sqrt(sum);
                }
                else
                {
                    rowI[j] = sum / l[j * n + j];
                }
            }
        }
        return l;
    }

    /// <summary>Cholesky after adding <paramref name="damping"/> times the mean diagonal, raised tenfold until it succeeds.</summary>
    public static double[] DampedCholesky(double[] a, int n, double damping) => DampedCholesky(a, n, damping, out _);

    /// <inheritdoc cref="DampedCholesky(double[], int, double)"/>
    /// <param name="added">The multiple of the identity that was added.</param>
    public static double[] DampedCholesky(double[] a, int n, double damping, out double added)
    {
        double meanDiagonal = 0;
        for (int i = 0; i < n; i++)
        {
            meanDiagonal += a[i * n + i];
        }
        meanDiagonal = Math.Max(meanDiagonal / Math.Max(1, n), 1e-12);
        var damped = (double[])a.Clone();
        added = 0;
        for (double factor = damping; factor < 1e6; factor = Math.Max(factor * 10, 1e-8))
        {
            double step = factor * meanDiagonal - added;
            for (int i = 0; i < n; i++)
            {
                damped[i * n + i] += step;
            }
            added += step;
            if (Cholesky(damped, n) is { } l)
            {
                return l;
            }
        }
        throw new InvalidOperationException($"a {n}x{n} Gram matrix stayed singular after damping; the calibration data may be degenerate");
    }

    /// <summary>Solves (L L^T) X = B for B of shape [n, m] (row-major), in place.</summary>
    public static void SolveCholesky(double[] l, int n, double[] b, int m)
    {
        var column = new double[n];
        for (int c = 0; c < m; c++)
        {
            for (int i = 0; i < n; i++)
            {
                column[i] = b[i * m + c];
            }
            for (int i = 0; i < n; i++)
            {
                column[i] = (column[i] - TensorPrimitives.Dot(l.AsSpan(i * n, i), column.AsSpan(0, i))) / l[i * n + i];
            }
            for (int i = n - 1; i >= 0; i--)
            {
                double sum = column[i];
                for (int k = i + 1; k < n; k++)
                {
                    sum -= l[k * n + i] * column[k];
                }
                column[i] = sum / l[i * n + i];
            }
            for (int i = 0; i < n; i++)
            {
                b[i * m + c] = column[i];
            }
        }
    }

    /// <summary>The inverse of L L^T from its lower Cholesky factor.</summary>
    public static double[] InverseFromCholesky(double[] l, int n)
    {
        // Rows of inverseT are columns of L^-1, so every inner product below runs over contiguous memory.
        var inverseT = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            var column = inverseT.AsSpan(j * n, n);
            column[j] = 1 / l[j * n + j];
            for (int i = j + 1; i < n; i++)
            {
                column[i] = -TensorPrimitives.Dot(l.AsSpan(i * n + j, i - j), column.Slice(j, i - j)) / l[i * n + i];
            }
        }
        var inverse = new double[n * n];
        Parallel.For(0, n, a =>
        {
            for (int b = a; b < n; b++)
            {
                int start = Math.Max(a, b);
                double value = TensorPrimitives.Dot(inverseT.AsSpan(a * n + start, n - start), inverseT.AsSpan(b * n + start, n - start));
                inverse[a * n + b] = value;
                inverse[b * n + a] = value;
            }
        });
        return inverse;
    }

    /// <summary>Ridge solution of (A + damping·mean(diag A)·I) X = B; B is [n, m] and is overwritten with X.</summary>
    public static void RidgeSolve(double[] a, int n, double[] b, int m, double damping)
    {
        var l = DampedCholesky(a, n, damping);
        SolveCholesky(l, n, b, m);
    }

    /// <summary>
    /// Ridge solution pulled towards <paramref name="anchor"/> instead of towards zero:
    /// (A + λI) X = B + λ·anchor, λ = damping·mean(diag A). Where A is well determined the data win;
    /// along directions the data do not determine, X stays at the anchor. B is overwritten with X.
    /// </summary>
    public static void AnchoredRidgeSolve(double[] a, int n, double[] b, int m, double damping, double[] anchor)
    {
        var l = DampedCholesky(a, n, damping, out double added);
        for (int i = 0; i < n * m; i++)
        {
            b[i] += added * anchor[i];
        }
        SolveCholesky(l, n, b, m);
    }

    /// <summary>
    /// The upper-triangular U with a⁻¹ = Uᵀ·U, as GPTQ uses it: row i of U holds how the error of row i
    /// spreads over the later rows. With J the order-reversing permutation, Cholesky of J·a·J = L·Lᵀ gives
    /// a = R·Rᵀ for the upper-triangular R = J·L·J, so a⁻¹ = R⁻ᵀ·R⁻¹ and U = R⁻¹ = J·L⁻¹·J:
    /// one factorization and one triangular inverse instead of inverting a first.
    /// </summary>
    /// <returns>Null when a is not positive definite.</returns>
    public static double[]? UpperCholeskyOfInverse(double[] a, int k)
    {
        var reversed = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                reversed[i * k + j] = a[(k - 1 - i) * k + (k - 1 - j)];
            }
        }
        if (Cholesky(reversed, k) is not { } lower)
        {
            return null;
        }
        // Column j of L⁻¹ solves L·x = e_j; columns are independent, so they are solved in parallel.
        var result = new double[k * k];
        Parallel.For(0, k, () => new double[k], (j, _, x) =>
        {
            for (int i = j; i < k; i++)
            {
                double sum = (i == j ? 1 : 0) - TensorPrimitives.Dot(lower.AsSpan(i * k + j, i - j), x.AsSpan(j, i - j));
                x[i] = sum / lower[i * k + i];
                // U[k-1-i, k-1-j] = L⁻¹[i, j]
                result[(k - 1 - i) * k + (k - 1 - j)] = x[i];
            }
            return x;
        }, _ => { });
        return result;
    }
}
