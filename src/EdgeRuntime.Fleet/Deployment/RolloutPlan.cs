using System.Globalization;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>What `edgert fleet rollout` is asked to do; checked by <see cref="Validate"/> before anything is sent.</summary>
public sealed record RolloutPlan
{
    public required string BundleName { get; init; }
    public required string Version { get; init; }
    /// <summary>The signed bundle archive the devices download.</summary>
    public required string ArchivePath { get; init; }
    public required string DeviceClass { get; init; }
    /// <summary>Cumulative share of the class's devices after each stage, increasing, in (0, 1].</summary>
    public required IReadOnlyList<double> Stages { get; init; }
    /// <summary>Halt and roll back once failed devices exceed this share of those given the bundle.</summary>
    public double MaxFailure { get; init; } = 0.02;
    /// <summary>Least devices per stage (the first stage of a small fleet would otherwise judge by one device).</summary>
    public int MinDevices { get; init; } = 1;
    /// <summary>A device with no outcome this long after it was given the bundle counts as failed.</summary>
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromMinutes(30);
    public int ChunkSize { get; init; } = DesiredBundle.DefaultChunkSize;

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        foreach (var (what, value) in new[] { ("bundle name", BundleName), ("version", Version), ("device class", DeviceClass) })
        {
            if (UplinkTopics.LevelProblem(what, value) is string problem)
            {
                problems.Add(problem);
            }
        }
        if (!File.Exists(ArchivePath))
        {
            problems.Add($"bundle archive '{ArchivePath}' does not exist");
        }
        if (Stages.Count == 0)
        {
            problems.Add("no stages");
        }
        for (int i = 0; i < Stages.Count; i++)
        {
            if (Stages[i] is <= 0 or > 1 || (i > 0 && Stages[i] <= Stages[i - 1]))
            {
                problems.Add($"stages must increase within (0%, 100%]: {string.Join(",", Stages.Select(FormatPercent))}");
                break;
            }
        }
        if (MaxFailure is < 0 or >= 1)
        {
            problems.Add($"max failure {FormatPercent(MaxFailure)} is not in [0%, 100%)");
        }
        if (MinDevices < 1)
        {
            problems.Add($"min devices {MinDevices} must be at least 1");
        }
        if (StageTimeout <= TimeSpan.Zero)
        {
            problems.Add($"stage timeout {StageTimeout} must be positive");
        }
        if (ChunkSize is < DesiredBundle.MinChunkSize or > DesiredBundle.MaxChunkSize)
        {
            problems.Add($"chunk size {ChunkSize} is not in {DesiredBundle.MinChunkSize}-{DesiredBundle.MaxChunkSize}");
        }
        return problems;
    }

    /// <exception cref="ArgumentException">Every problem, named.</exception>
    public void Validate()
    {
        if (Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"rollout: {string.Join("; ", problems)}");
        }
    }

    /// <summary>How many of <paramref name="devices"/> have the bundle after each stage.</summary>
    public IReadOnlyList<int> StageSizes(int devices)
    {
        var sizes = new List<int>();
        foreach (double share in Stages)
        {
            int size = Math.Min(devices, Math.Max(MinDevices, (int)Math.Ceiling(share * devices - 1e-9)));
            size = Math.Max(size, sizes.Count > 0 ? sizes[^1] : 0);
            sizes.Add(size);
        }
        return sizes;
    }

    /// <summary>"5%,25%,100%" (the % is optional) as shares.</summary>
    public static IReadOnlyList<double> ParseStages(string text) => text.Split(',').Select(s => ParsePercent(s, "stage")).ToList();

    /// <summary>"2%" or "2" as 0.02.</summary>
    public static double ParsePercent(string text, string what)
    {
        string trimmed = text.Trim().TrimEnd('%');
        if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) || !double.IsFinite(percent))
        {
            throw new ArgumentException($"{what} '{text}' is not a percentage such as 5%");
        }
        return percent / 100;
    }

    public static string FormatPercent(double share) => string.Create(CultureInfo.InvariantCulture, $"{share * 100:0.##}%");
}

/// <summary>Settings of the controller (not of one rollout).</summary>
public sealed record RolloutOptions
{
    public string TopicPrefix { get; init; } = UplinkTopics.DefaultPrefix;
    /// <summary>How often the controller looks at device reports and decides.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>After a halt or an abort, how long to wait for every device to report it is back before the run returns.</summary>
    public TimeSpan RevertTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        if (UplinkTopics.PrefixProblem(TopicPrefix) is string prefix)
        {
            throw new ArgumentException($"rollout: {prefix}");
        }
        if (TickInterval <= TimeSpan.Zero || RevertTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"rollout: tick interval {TickInterval} and revert timeout {RevertTimeout} must be positive");
        }
    }
}

public enum RolloutState
{
    Running,
    Paused,
    /// <summary>Every stage passed; the class's desired state names the new version.</summary>
    Completed,
    /// <summary>Failures exceeded the threshold; every device given the bundle was sent back to its previous version.</summary>
    Halted,
    /// <summary>Stopped by an operator; rolled back like a halt.</summary>
    Aborted,
}
