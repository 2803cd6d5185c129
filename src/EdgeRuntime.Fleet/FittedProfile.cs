using EdgeRuntime.Governance;

namespace EdgeRuntime.Fleet;

/// <summary>A profile fitted for one device class, with the models behind it.</summary>
public sealed record FittedProfile(GovernorProfile Profile, IReadOnlyDictionary<string, LatencyModel> Latency, double? TimeConstantSeconds, int ThermalSeries);
