using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>cpufreq policies: scaling_cur_freq / scaling_max_freq / cpuinfo_max_freq (kHz) and scaling_governor.</summary>
public sealed class CpuFreqSource(SysfsRoot root, IReadOnlyList<string> policyGlobs) : ISensorSource
{
    // Nothing clocks a CPU core above 10 GHz or below 1 MHz; values outside are read faults.
    private const double MaxPlausibleMhz = 10_000;

    public string Name => "cpufreq";

    public void ReadInto(DeviceSnapshotBuilder snapshot)
    {
        var policies = policyGlobs.SelectMany(root.Glob).Distinct().ToList();
        if (policies.Count == 0)
        {
            var missing = Reading<double>.Unavailable($"no cpufreq policy matches {string.Join(", ", policyGlobs)}");
            snapshot.AddCpuPolicy(new CpuPolicyReading("none", missing, missing, missing, Reading<string>.Unavailable(missing.Reason!)));
            return;
        }
        foreach (string policy in policies)
        {
            string name = Path.GetFileName(policy);
            snapshot.AddCpuPolicy(new CpuPolicyReading(
                name,
                Mhz(policy + "/scaling_cur_freq", name),
                Mhz(policy + "/scaling_max_freq", name),
                Mhz(policy + "/cpuinfo_max_freq", name),
                root.ReadText(policy + "/scaling_governor")));
        }
    }

    private Reading<double> Mhz(string path, string policy) =>
        PlausibleRange.Check(root.ReadInteger(path).Select(khz => khz / 1000.0), $"{policy} {Path.GetFileName(path)}", 1, MaxPlausibleMhz, "MHz");
}
