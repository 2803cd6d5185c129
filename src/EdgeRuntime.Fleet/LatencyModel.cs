using EdgeRuntime.Numerics;

namespace EdgeRuntime.Fleet;

/// <summary>
/// Latency of one variant on one device class: ms = a + b·(1000 / MHz) + c·°C. Compute time scales with the clock
/// period; the temperature term absorbs what the clock does not explain (e.g. memory slowing when hot).
/// </summary>
public sealed record LatencyModel(double Intercept, double PerClockPeriod, double PerCelsius, int Samples, double MeanRelativeError)
{
    public double Predict(double frequencyMhz, double celsius) => Intercept + PerClockPeriod * (1000 / frequencyMhz) + PerCelsius * celsius;

    public static double[] Features(double frequencyMhz, double celsius) => [1, 1000 / frequencyMhz, celsius];

    /// <summary>The model, falling back to a clock-only fit when temperature does not vary, or null with too little data.</summary>
    public static LatencyModel? Fit(IReadOnlyList<(double Mhz, double Celsius, double Ms)> samples)
    {
        var valid = samples.Where(s => s.Mhz > 0 && double.IsFinite(s.Celsius) && s.Ms > 0).ToList();
        if (valid.Count < 3)
        {
            return null;
        }
        var targets = valid.Select(s => s.Ms).ToList();
        var full = LeastSquares.Fit([.. valid.Select(s => Features(s.Mhz, s.Celsius))], targets);
        LatencyModel? model = full is null ? null : new LatencyModel(full[0], full[1], full[2], valid.Count, 0);
        if (model is null)
        {
            var clockOnly = LeastSquares.Fit([.. valid.Select(s => new[] { 1, 1000 / s.Mhz })], targets);
            model = clockOnly is null
                ? new LatencyModel(targets.Average(), 0, 0, valid.Count, 0)
                : new LatencyModel(clockOnly[0], clockOnly[1], 0, valid.Count, 0);
        }
        double error = valid.Average(s => Math.Abs(model.Predict(s.Mhz, s.Celsius) - s.Ms) / s.Ms);
        return model with { MeanRelativeError = error };
    }
}
