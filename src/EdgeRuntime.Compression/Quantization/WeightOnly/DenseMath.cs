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
    /// spreads over the later rows. Computed as L⁻¹ from a = L·Lᵀ, then a⁻¹ = L⁻ᵀ·L⁻¹ and its Cholesky factor.
    /// </summary>
    public static bool TryUpperCholeskyOfInverse(double[] a, int k, out double[] upper)
    {
        upper = [];
        if (!TryCholesky(a, k, out var lower))
        {
            return false;
        }
        // T = (L⁻¹)ᵀ, upper-triangular, computed column of L⁻¹ by column (= row of T by row).
        var t = new double[k * k];
        var x = new double[k];
        for (int j = 0; j < k; j++)
        {
            Array.Clear(x);
            for (int i = j; i < k; i++)
            {
                double sum = i == j ? 1 : 0;
                sum -= Dot(lower.AsSpan(i * k + j, i - j), x.AsSpan(j, i - j));
                x[i] = sum / lower[i * k + i];
            }
            x.AsSpan(j, k - j).CopyTo(t.AsSpan(j * k + j, k - j));
        }
        // a⁻¹ = L⁻ᵀ·L⁻¹ = T·Tᵀ: entry (i, j) is the dot of rows i and j of T from max(i, j) on.
        var inverse = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = i; j < k; j++)
            {
                double value = Dot(t.AsSpan(i * k + j, k - j), t.AsSpan(j * k + j, k - j));
                inverse[i * k + j] = value;
                inverse[j * k + i] = value;
            }
        }
        if (!TryCholesky(inverse, k, out var factor))
        {
            return false;
        }
        upper = new double[k * k];
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                upper[j * k + i] = factor[i * k + j];
            }
        }
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
