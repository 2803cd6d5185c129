namespace EdgeRuntime.Fleet;

/// <summary>Ordinary least squares through the normal equations (few features, many rows).</summary>
public static class LeastSquares
{
    /// <summary>Coefficients minimising the squared error of rows·c against targets, or null when the features do not vary enough.</summary>
    public static double[]? Fit(IReadOnlyList<double[]> rows, IReadOnlyList<double> targets)
    {
        if (rows.Count == 0 || rows.Count != targets.Count)
        {
            return null;
        }
        int n = rows[0].Length;
        if (rows.Count < n)
        {
            return null;
        }
        var a = new double[n, n + 1];
        for (int r = 0; r < rows.Count; r++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    a[i, j] += rows[r][i] * rows[r][j];
                }
                a[i, n] += rows[r][i] * targets[r];
            }
        }
        // Gaussian elimination with partial pivoting.
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
            {
                if (Math.Abs(a[r, col]) > Math.Abs(a[pivot, col]))
                {
                    pivot = r;
                }
            }
            if (Math.Abs(a[pivot, col]) < 1e-12 * Math.Max(1, Math.Abs(a[0, 0])))
            {
                return null;
            }
            for (int j = 0; j <= n; j++)
            {
                (a[col, j], a[pivot, j]) = (a[pivot, j], a[col, j]);
            }
            for (int r = 0; r < n; r++)
            {
                if (r == col)
                {
                    continue;
                }
                double factor = a[r, col] / a[col, col];
                for (int j = col; j <= n; j++)
                {
                    a[r, j] -= factor * a[col, j];
                }
            }
        }
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = a[i, n] / a[i, i];
        }
        return result.All(double.IsFinite) ? result : null;
    }
}
