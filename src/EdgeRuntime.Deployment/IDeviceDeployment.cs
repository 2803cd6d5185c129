namespace EdgeRuntime.Deployment;

/// <summary>
/// The device's side of a model deployment as delivery sees it: hand over a downloaded bundle archive, activate it,
/// let probation judge it, and keep it or roll back. The on-device bundle store implements it; the MQTT delivery
/// and the simulated fleet devices call it, so both run the same install, activation and rollback code.
/// </summary>
public interface IDeviceDeployment
{
    /// <summary>The active and previous versions of a bundle name and where its last deployment stands.</summary>
    DeploymentState GetState(string bundleName);

    /// <summary>
    /// Checks a downloaded archive (signature against the trusted keys, every file's hash, no downgrade) and
    /// installs it beside the active version. Throws <see cref="DeploymentRefusedException"/> naming the reason;
    /// the active version is never touched by a refused or interrupted install.
    /// </summary>
    InstalledVersion Install(string bundleName, string version, string archivePath);

    /// <summary>
    /// Makes an installed version active: an atomic pointer swap, then the serving runtime's drained hot swap.
    /// The replaced version is kept as the previous one and the new one enters probation.
    /// </summary>
    Task ActivateAsync(string bundleName, string version, CancellationToken cancellationToken);

    /// <summary>
    /// Runs probation on the active version. Pass: the version is committed. Fail: the previous version is
    /// activated again automatically. Either way the verdict says why.
    /// </summary>
    Task<ProbationVerdict> ProbateAsync(string bundleName, CancellationToken cancellationToken);

    /// <summary>
    /// Activates the previous version again whatever the active one's phase, e.g. when a fleet halts a rollout
    /// on devices that already committed it. The reason is kept as the state's last failure.
    /// </summary>
    Task<DeploymentState> RollbackAsync(string bundleName, string reason, CancellationToken cancellationToken);
}

public enum DeploymentPhase
{
    /// <summary>Nothing was ever deployed under this name.</summary>
    None,
    /// <summary>The active version was activated and has not yet passed probation.</summary>
    Probation,
    /// <summary>The active version passed probation (or was the first one installed).</summary>
    Committed,
    /// <summary>The last deployed version failed probation and the previous one is active again.</summary>
    RolledBack,
}

public sealed record DeploymentState(
    string BundleName,
    string? ActiveVersion,
    string? PreviousVersion,
    DeploymentPhase Phase,
    string? LastFailure);

public sealed record InstalledVersion(string BundleName, string Version, string Directory, string SignedByKeyId);

public sealed record ProbationVerdict(
    bool Passed,
    string Reason,
    string Version,
    string? RestoredVersion,
    IReadOnlyDictionary<string, double> Figures);

/// <summary>Why a bundle was not installed or activated; stable codes a fleet can count.</summary>
public enum DeploymentRefusal
{
    ArchiveCorrupt,
    HashMismatch,
    Unsigned,
    BadSignature,
    UntrustedKey,
    RevokedKey,
    Downgrade,
    NotInstalled,
    InvalidBundle,
    StorageFailed,
}

public sealed class DeploymentRefusedException(DeploymentRefusal refusal, string message) : Exception(message)
{
    public DeploymentRefusal Refusal { get; } = refusal;
}
