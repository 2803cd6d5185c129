namespace EdgeRuntime.Numerics;

/// <summary>Ordinary least squares through the normal equations (few features, many rows).</summary>
public static class LeastSquares
{
    // Features that vary by less than this, relative to their scale, count as not varying.
    private const double RankTolerance = 1e-12;

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
        var gram = new double[n * n];
        var moment = new double[n];
        for (int r = 0; r < rows.Count; r++)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    gram[i * n + j] += rows[r][i] * rows[r][j];
                }
                moment[i] += rows[r][i] * targets[r];
            }
        }
        if (DenseLinearAlgebra.Cholesky(gram, n, RankTolerance) is not { } factor)
        {
            return null;
        }
        DenseLinearAlgebra.SolveCholesky(factor, n, moment, 1);
        return moment.All(double.IsFinite) ? moment : null;
    }
}
