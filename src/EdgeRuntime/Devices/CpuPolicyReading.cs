namespace EdgeRuntime.Devices;

/// <summary>One cpufreq policy (a group of cores clocked together): current and maximum frequency, and the governor.</summary>
public sealed record CpuPolicyReading(string Policy, Reading<double> CurrentMhz, Reading<double> MaxMhz, Reading<double> HardwareMaxMhz, Reading<string> Governor);
