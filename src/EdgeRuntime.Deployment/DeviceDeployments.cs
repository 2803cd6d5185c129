using System.Globalization;

namespace EdgeRuntime.Deployment;

/// <summary>One deployment on a device from archive to verdict.</summary>
public sealed record DeploymentOutcome(InstalledVersion Installed, ProbationVerdict? Verdict, DeploymentState State)
{
    public void WriteText(TextWriter writer)
    {
        writer.WriteLine($"installed '{Installed.BundleName}' version {Installed.Version} signed by key {Installed.SignedByKeyId}: {Installed.Directory}");
        if (Verdict is { } v)
        {
            writer.WriteLine($"probation {(v.Passed ? "passed" : "FAILED")}: {v.Reason}" + (v.RestoredVersion is null ? "" : $"; version {v.RestoredVersion} restored"));
            writer.WriteLine("  " + string.Join(", ", v.Figures.Select(f => $"{f.Key}={f.Value.ToString("0.####", CultureInfo.InvariantCulture)}")));
        }
        writer.WriteLine($"state: active {State.ActiveVersion ?? "-"}, previous {State.PreviousVersion ?? "-"}, {State.Phase}");
    }
}

/// <summary>What a store holds: per bundle name its state and installed versions, and what opening it repaired.</summary>
public sealed record StoreStatus(IReadOnlyList<string> Recovery, IReadOnlyList<StoreEntry> Bundles)
{
    public void WriteText(TextWriter writer)
    {
        foreach (string action in Recovery)
        {
            writer.WriteLine($"recovered: {action}");
        }
        writer.WriteLine($"{"bundle",-20} {"active",-8} {"previous",-8} {"phase",-11} {"installed",-16} last failure");
        foreach (var (state, installed) in Bundles)
        {
            writer.WriteLine($"{state.BundleName,-20} {state.ActiveVersion ?? "-",-8} {state.PreviousVersion ?? "-",-8} {state.Phase,-11} {string.Join(",", installed),-16} {state.LastFailure ?? ""}");
        }
    }
}

public sealed record StoreEntry(DeploymentState State, IReadOnlyList<long> Installed);

public static class DeviceDeployments
{
    /// <summary>Install, then (when <paramref name="activate"/>) activate and run probation: the whole deployment of one archive.</summary>
    public static async Task<DeploymentOutcome> DeployAsync(this IDeviceDeployment device, string bundleName, string version, string archivePath,
        bool activate, CancellationToken cancellationToken)
    {
        var installed = device.Install(bundleName, version, archivePath);
        ProbationVerdict? verdict = null;
        if (activate)
        {
            await device.ActivateAsync(bundleName, version, cancellationToken).ConfigureAwait(false);
            verdict = await device.ProbateAsync(bundleName, cancellationToken).ConfigureAwait(false);
        }
        return new DeploymentOutcome(installed, verdict, device.GetState(bundleName));
    }
}
