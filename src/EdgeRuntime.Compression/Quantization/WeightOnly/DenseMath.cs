using System.Numerics;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>The little dense linear algebra GPTQ needs: Cholesky factors, triangular inverses, SIMD dot and axpy.</summary>
internal static class DenseMath
{
    /// <summary>Lower-triangular L with a = L·Lᵀ (row-major, k×k); false when a is not positive definite.</summary>
    public static bool TryCholesky(double[] a, int k, out double[] lower)
    {
        lower = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            var rowI = lower.AsSpan(i * k, k);
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i * k + j] - Dot(rowI[..j], lower.AsSpan(j * k, j));
                if (i == j)
                {
                    if (!(sum > 0))
                    {
                        return false;
                    }
                    rowI[i] = Math.Sqrt(sum);
                }
                else
                {
                    rowI[j] = sum / lower[j * k + j];
                }
            }
        }
        return true;
    }

    /// <summary>
    /// The upper-triangular U with a⁻¹ = Uᵀ·U, as GPTQ uses it: row i of U holds how the error of row i
    /// spreads over the later rows. With J the order-reversing permutation, Cholesky of J·a·J = L·Lᵀ gives
    /// a = R·Rᵀ for the upper-triangular R = J·L·J, so a⁻¹ = R⁻ᵀ·R⁻¹ and U = R⁻¹ = J·L⁻¹·J:
    /// one factorization and one triangular inverse instead of inverting a first.
    /// </summary>
    public static bool TryUpperCholeskyOfInverse(double[] a, int k, out double[] upper)
    {
        upper = [];
        var reversed = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                reversed[i * k + j] = a[(k - 1 - i) * k + (k - 1 - j)];
            }
        }
        if (!TryCholesky(reversed, k, out var lower))
        {
            return false;
        }
        // Column j of L⁻¹ solves L·x = e_j; columns are independent, so they are solved in parallel.
        var result = new double[k * k];
        Parallel.For(0, k, () => new double[k], (j, _, x) =>
        {
            for (int i = j; i < k; i++)
            {
                double sum = (i == j ? 1 : 0) - Dot(lower.AsSpan(i * k + j, i - j), x.AsSpan(j, i - j));
                x[i] = sum / lower[i * k + i];
                // U[k-1-i, k-1-j] = L⁻¹[i, j]
                result[(k - 1 - i) * k + (k - 1 - j)] = x[i];
            }
            return x;
        }, _ => { });
        upper = result;
        return true;
    }

    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<double>.Count)
        {
            var accumulator = Vector<double>.Zero;
            var va = MemoryMarshal.Cast<double, Vector<double>>(a);
            var vb = MemoryMarshal.Cast<double, Vector<double>>(b[..a.Length]);
            for (int v = 0; v < va.Length; v++)
            {
                accumulator += va[v] * vb[v];
            }
            sum = Vector.Sum(accumulator);
            i = va.Length * Vector<double>.Count;
        }
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>y += factor · x.</summary>
    public static void Axpy(float factor, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            var scale = new Vector<float>(factor);
            var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
            var vy = MemoryMarshal.Cast<float, Vector<float>>(y[..x.Length]);
            for (int v = 0; v < vx.Length; v++)
            {
                vy[v] += scale * vx[v];
            }
            i = vx.Length * Vector<float>.Count;
        }
        for (; i < x.Length; i++)
        {
            y[i] += factor * x[i];
        }
    }
}
