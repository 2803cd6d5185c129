using EdgeRuntime.Governance;

namespace EdgeRuntime.Fleet;

/// <summary>A profile fitted for one device class, with the models behind it.</summary>
/// <param name="Latency">Per variant, the p95 model: of service time where the logs carry it (see <see cref="FromServiceTime"/>).</param>
public sealed record FittedProfile(GovernorProfile Profile, IReadOnlyDictionary<string, LatencyModel> Latency, double? TimeConstantSeconds, int ThermalSeries)
{
    /// <summary>Per variant, the mean model, where means were logged.</summary>
    public IReadOnlyDictionary<string, LatencyModel> MeanLatency { get; init; } = new Dictionary<string, LatencyModel>();
    /// <summary>Every variant was fitted on service time (not response time, which includes queue wait).</summary>
    public bool FromServiceTime { get; init; }
}
