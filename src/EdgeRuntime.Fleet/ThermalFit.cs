using EdgeRuntime.Numerics;

namespace EdgeRuntime.Fleet;

/// <summary>
/// Thermal time constant from a temperature series sampled at a steady interval: a first-order body follows
/// T[k+1] = a·T[k] + b with a = exp(-dt/τ), so τ = -dt / ln a from a least-squares fit of consecutive pairs.
/// </summary>
public static class ThermalFit
{
    public static double? TimeConstantSeconds(IReadOnlyList<(double Seconds, double Celsius)> series)
    {
        if (series.Count < 10)
        {
            return null;
        }
        var steps = series.Zip(series.Skip(1), (p, q) => q.Seconds - p.Seconds).Where(d => d > 0).Order().ToList();
        if (steps.Count == 0)
        {
            return null;
        }
        double dt = steps[steps.Count / 2];
        var rows = new List<double[]>();
        var targets = new List<double>();
        for (int i = 0; i + 1 < series.Count; i++)
        {
            if (Math.Abs(series[i + 1].Seconds - series[i].Seconds - dt) <= 0.1 * dt)
            {
                rows.Add([series[i].Celsius, 1]);
                targets.Add(series[i + 1].Celsius);
            }
        }
        var fit = LeastSquares.Fit(rows, targets);
        if (fit is null || !(fit[0] is > 0 and < 1))
        {
            return null;
        }
        return -dt / Math.Log(fit[0]);
    }
}
