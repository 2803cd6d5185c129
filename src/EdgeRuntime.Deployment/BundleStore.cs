using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment.Signing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Deployment;

/// <summary>Makes the serving side serve the bundle in <paramref name="directory"/> (the daemon: a drained hot swap).</summary>
public delegate Task BundleActivation(string bundleName, string directory, CancellationToken cancellationToken);

public sealed record BundleStoreOptions
{
    /// <summary>The store's directory (e.g. /var/lib/edgeruntime): bundles/ and staging/ live under it.</summary>
    public required string Root { get; init; }
    /// <summary>Directory of trusted *.pub keys and the revoked list; read again for every install, so rotation needs no restart.</summary>
    public required string TrustedKeysDirectory { get; init; }
    /// <summary>Versions kept per name: the active one, the previous one and newer installed ones always; older ones down to this count.</summary>
    public int KeepVersions { get; init; } = 3;
    public ArchiveLimits Limits { get; init; } = new();
    public ProbationOptions Probation { get; init; } = new();

    public void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Root, nameof(Root));
        ArgumentException.ThrowIfNullOrWhiteSpace(TrustedKeysDirectory, nameof(TrustedKeysDirectory));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeepVersions, 2, nameof(KeepVersions));
        Limits.Validate();
        Probation.Validate();
        if (!Directory.Exists(TrustedKeysDirectory))
        {
            throw new ArgumentException($"trusted keys directory '{TrustedKeysDirectory}' does not exist");
        }
    }
}

/// <summary>What the store found and repaired when it opened.</summary>
public sealed record StoreRecovery(int StagingRemoved, int LeftoversRemoved, IReadOnlyList<string> Actions);

/// <summary>
/// The on-device bundle store (DEPLOYMENT.md): signed archives installed side by side under
/// <c>ROOT/bundles/NAME/VERSION/</c>, one atomically replaced state file per name as the active pointer, the
/// previous version kept for rollback, probation after every activation. Every step is ordered so that a kill
/// at any point leaves a valid active version; opening the store finishes or undoes what a kill interrupted.
/// One store per root and process.
/// </summary>
public sealed class BundleStore : IDeviceDeployment, IDisposable
{
    private const string BundlesFolder = "bundles";
    private const string StagingFolder = "staging";

    private readonly BundleStoreOptions _options;
    private readonly BundleActivation? _activate;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Probation _probation;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public BundleStore(BundleStoreOptions options, BundleActivation? activate = null, IServingHealth? health = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _activate = activate;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _probation = new Probation(options.Probation, health, _time);
        Root = Path.GetFullPath(options.Root);
        Directory.CreateDirectory(Path.Combine(Root, BundlesFolder));
        Directory.CreateDirectory(Path.Combine(Root, StagingFolder));
        Recovery = Recover();
    }

    public string Root { get; }
    public StoreRecovery Recovery { get; }

    /// <summary>Names with a state in the store.</summary>
    public IReadOnlyList<string> BundleNames() =>
        [.. Directory.EnumerateDirectories(Path.Combine(Root, BundlesFolder))
            .Where(d => File.Exists(Path.Combine(d, StoreState.FileName)))
            .Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    public DeploymentState GetState(string bundleName) =>
        LoadState(CheckName(bundleName))?.ToPublic() ?? new DeploymentState(bundleName, null, null, DeploymentPhase.None, null);

    /// <summary>The directory of the active version, or null when nothing is active under this name.</summary>
    public string? ActiveDirectory(string bundleName) =>
        LoadState(CheckName(bundleName)) is { Active: long active } ? VersionDirectory(bundleName, active) : null;

    /// <summary>The installed versions of a name, oldest first.</summary>
    public IReadOnlyList<long> InstalledVersions(string bundleName)
    {
        string directory = NameDirectory(CheckName(bundleName));
        return Directory.Exists(directory)
            ? [.. Directory.EnumerateDirectories(directory).Select(d => ParseVersionOrNull(Path.GetFileName(d))).OfType<long>().Order()]
            : [];
    }

    public StoreStatus Status() =>
        new(Recovery.Actions, [.. BundleNames().Select(name => new StoreEntry(GetState(name), InstalledVersions(name)))]);

    /// <summary>Checks the active version's signature and every file again, as the daemon does before serving it.</summary>
    public VerifiedBundle VerifyActive(string bundleName)
    {
        string directory = ActiveDirectory(bundleName)
            ?? throw new DeploymentRefusedException(DeploymentRefusal.NotInstalled, $"no version of '{bundleName}' is active");
        using var keys = LoadKeys();
        return SignedBundle.Verify(directory, keys);
    }

    public InstalledVersion Install(string bundleName, string version, string archivePath)
    {
        CheckName(bundleName);
        long number = ParseVersion(version);
        _gate.Wait();
        try
        {
            var state = LoadState(bundleName);
            if (state is not null && number < state.HighestActivated)
            {
                throw new DeploymentRefusedException(DeploymentRefusal.Downgrade,
                    $"'{bundleName}' version {number} is older than version {state.HighestActivated}, already activated on this device");
            }
            if (!File.Exists(archivePath))
            {
                throw new DeploymentRefusedException(DeploymentRefusal.ArchiveCorrupt, $"archive '{archivePath}' does not exist");
            }
            using var keys = LoadKeys();
            string target = VersionDirectory(bundleName, number);
            if (Directory.Exists(target))
            {
                try
                {
                    // Delivery retries: an intact install of this version is taken as it is.
                    var present = SignedBundle.Verify(target, keys);
                    return new InstalledVersion(bundleName, version, target, present.KeyId);
                }
                catch (DeploymentRefusedException e)
                {
                    _logger.LogWarning("Installed {Name} {Version} fails verification ({Reason}); installing it again", bundleName, number, e.Message);
                }
                Discard(target);
            }
            string staging = Path.Combine(Root, StagingFolder, $"{bundleName}.{number}.{Guid.NewGuid():N}");
            try
            {
                BundleArchive.Extract(archivePath, staging, _options.Limits);
                var verified = SignedBundle.Verify(staging, keys);
                if (verified.Manifest.Name != bundleName || verified.Manifest.Version != number)
                {
                    throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle,
                        $"the archive holds '{verified.Manifest.Name}' version {verified.Manifest.Version}, not '{bundleName}' version {number}");
                }
                AtomicFile.SyncDirectory(staging);
                Directory.CreateDirectory(NameDirectory(bundleName));
                Directory.Move(staging, target);
                AtomicFile.SyncDirectory(NameDirectory(bundleName));
                _logger.LogInformation("Installed {Name} version {Version}, signed by {Key}", bundleName, number, verified.KeyId);
                return new InstalledVersion(bundleName, version, target, verified.KeyId);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new DeploymentRefusedException(DeploymentRefusal.StorageFailed, $"installing '{bundleName}' version {number} failed: {e.Message}");
            }
            finally
            {
                TryDelete(staging);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ActivateAsync(string bundleName, string version, CancellationToken cancellationToken)
    {
        CheckName(bundleName);
        long number = ParseVersion(version);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = LoadState(bundleName) ?? new StoreState { Name = bundleName };
            if (state.Active == number)
            {
                return;
            }
            if (number < state.HighestActivated)
            {
                throw new DeploymentRefusedException(DeploymentRefusal.Downgrade,
                    $"'{bundleName}' version {number} is older than version {state.HighestActivated}, already activated on this device");
            }
            string directory = VersionDirectory(bundleName, number);
            if (!Directory.Exists(directory))
            {
                throw new DeploymentRefusedException(DeploymentRefusal.NotInstalled, $"'{bundleName}' version {number} is not installed");
            }
            using (var keys = LoadKeys())
            {
                // Again: a file may have changed on disk since the install.
                SignedBundle.Verify(directory, keys);
            }
            bool first = state.Active is null;
            var activated = state with
            {
                Active = number,
                Previous = state.Active,
                Phase = first ? DeploymentPhase.Committed : DeploymentPhase.Probation,
                HighestActivated = Math.Max(state.HighestActivated, number),
                LastFailure = null,
                ChangedUtc = _time.GetUtcNow(),
                History = [.. state.History.Where(v => v != number).TakeLast(_options.KeepVersions), number],
            };
            SaveState(activated);
            try
            {
                await SwapServingAsync(bundleName, directory, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                string reason = $"version {number} could not be activated: {e.Message}";
                SaveState(state with
                {
                    Phase = first ? DeploymentPhase.None : DeploymentPhase.RolledBack,
                    HighestActivated = activated.HighestActivated,
                    LastFailure = reason,
                    ChangedUtc = _time.GetUtcNow(),
                });
                throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, $"'{bundleName}' {reason}; version {state.Active?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} stays active");
            }
            _logger.LogInformation("Activated {Name} version {Version} (previous {Previous})", bundleName, number, state.Active);
            Prune(bundleName, activated);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<ProbationVerdict> ProbateAsync(string bundleName, CancellationToken cancellationToken)
    {
        CheckName(bundleName);
        var state = LoadState(bundleName);
        if (state?.Active is not long active)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.NotInstalled, $"no version of '{bundleName}' is active");
        }
        string version = active.ToString(CultureInfo.InvariantCulture);
        if (state.Phase != DeploymentPhase.Probation)
        {
            return new ProbationVerdict(true, $"version {active} is {state.Phase.ToString().ToLowerInvariant()}; nothing to probe", version, null, new Dictionary<string, double>());
        }
        VerifiedBundle candidate;
        using (var keys = LoadKeys())
        {
            candidate = SignedBundle.Verify(VersionDirectory(bundleName, active), keys);
        }
        string? previous = state.Previous is long p && Directory.Exists(VersionDirectory(bundleName, p)) ? VersionDirectory(bundleName, p) : null;
        var (failure, figures) = await _probation.RunAsync(bundleName, candidate, previous, cancellationToken).ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = LoadState(bundleName);
            if (now?.Active != active || now.Phase != DeploymentPhase.Probation)
            {
                return new ProbationVerdict(false, $"version {active} was replaced during probation (now {now?.Active})", version, null, figures);
            }
            if (failure is null)
            {
                SaveState(now with { Phase = DeploymentPhase.Committed, ChangedUtc = _time.GetUtcNow() });
                _logger.LogInformation("{Name} version {Version} passed probation and is committed", bundleName, active);
                return new ProbationVerdict(true, $"version {active} passed probation", version, null, figures);
            }
            var restored = await RollBackLockedAsync(now, $"version {active} failed probation: {failure}", cancellationToken).ConfigureAwait(false);
            return new ProbationVerdict(false, failure, version, restored?.ToString(CultureInfo.InvariantCulture), figures);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Activates the previous version again, whatever the active one's phase (a fleet halting a rollout rolls back
    /// devices that already committed). No downgrade check: the previous version is the one this device ran.
    /// </summary>
    public async Task<DeploymentState> RollbackAsync(string bundleName, string reason, CancellationToken cancellationToken)
    {
        CheckName(bundleName);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = LoadState(bundleName);
            if (state?.Previous is null)
            {
                throw new DeploymentRefusedException(DeploymentRefusal.NotInstalled, $"'{bundleName}' has no previous version to roll back to");
            }
            await RollBackLockedAsync(state, reason, cancellationToken).ConfigureAwait(false);
            return LoadState(bundleName)!.ToPublic();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<long?> RollBackLockedAsync(StoreState state, string reason, CancellationToken cancellationToken)
    {
        long? restored = state.Previous;
        var history = state.History.Where(v => v != state.Active).ToList();
        SaveState(state with
        {
            Active = restored,
            Previous = restored is long r ? VersionBefore(history, r) : null,
            Phase = DeploymentPhase.RolledBack,
            LastFailure = reason,
            ChangedUtc = _time.GetUtcNow(),
            History = history,
        });
        _logger.LogWarning("Rolled {Name} back from {Failed} to {Restored}: {Reason}", state.Name, state.Active, restored, reason);
        if (restored is long version)
        {
            try
            {
                await SwapServingAsync(state.Name, VersionDirectory(state.Name, version), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError("Serving {Name} {Version} again after a rollback failed: {Reason}", state.Name, version, e.Message);
            }
        }
        return restored;
    }

    /// <summary>The version that was active before <paramref name="version"/>, if the history has one.</summary>
    private static long? VersionBefore(IEnumerable<long> history, long version) =>
        history.TakeWhile(v => v != version).Cast<long?>().LastOrDefault();

    private Task SwapServingAsync(string bundleName, string directory, CancellationToken cancellationToken) =>
        _activate is null ? Task.CompletedTask : _activate(bundleName, directory, cancellationToken);

    /// <summary>
    /// Undoes what a kill interrupted: staging left by an install, temporaries of a state write, a version left
    /// on probation (rolled back: the restart may be its fault), an active version that no longer verifies
    /// (the newest earlier version that does takes over).
    /// </summary>
    private StoreRecovery Recover()
    {
        var actions = new List<string>();
        int staging = 0, leftovers = 0;
        foreach (string entry in Directory.EnumerateFileSystemEntries(Path.Combine(Root, StagingFolder)))
        {
            TryDelete(entry);
            staging++;
        }
        using var keys = LoadKeys();
        foreach (string nameDirectory in Directory.EnumerateDirectories(Path.Combine(Root, BundlesFolder)))
        {
            foreach (string file in Directory.EnumerateFiles(nameDirectory).Where(f => AtomicFile.IsLeftover(Path.GetFileName(f))))
            {
                File.Delete(file);
                leftovers++;
            }
            string name = Path.GetFileName(nameDirectory);
            StoreState? state;
            try
            {
                state = LoadState(name);
            }
            catch (InvalidDataException e)
            {
                // Never happens through AtomicFile; said loudly rather than guessed around.
                actions.Add($"{name}: {e.Message}; left alone");
                continue;
            }
            if (state?.Active is not long active)
            {
                continue;
            }
            if (state.Phase == DeploymentPhase.Probation && state.Previous is long previous)
            {
                string reason = $"restarted while version {active} was on probation; version {previous} restored";
                state = state with
                {
                    Active = previous,
                    Previous = VersionBefore(state.History.Where(v => v != active), previous),
                    Phase = DeploymentPhase.RolledBack,
                    LastFailure = reason,
                    ChangedUtc = _time.GetUtcNow(),
                    History = [.. state.History.Where(v => v != active)],
                };
                SaveState(state);
                actions.Add($"{name}: {reason}");
            }
            var usable = FirstVerifying(name, state, keys, actions);
            if (usable != state.Active)
            {
                string reason = $"active version {state.Active} fails verification; {(usable is null ? "no earlier version verifies either" : $"version {usable} restored")}";
                SaveState(state with
                {
                    Active = usable,
                    Previous = usable is long u ? VersionBefore(state.History, u) : null,
                    Phase = usable is null ? DeploymentPhase.None : DeploymentPhase.RolledBack,
                    LastFailure = reason,
                    ChangedUtc = _time.GetUtcNow(),
                    History = [.. state.History.TakeWhile(v => v != state.Active).Where(v => usable is null || v <= usable)],
                });
                actions.Add($"{name}: {reason}");
            }
        }
        if (staging + leftovers > 0)
        {
            actions.Insert(0, $"removed {staging} interrupted install(s) and {leftovers} unfinished state write(s)");
        }
        foreach (string action in actions)
        {
            _logger.LogWarning("Bundle store recovery: {Action}", action);
        }
        return new StoreRecovery(staging, leftovers, actions);
    }

    /// <summary>The active version if it verifies, else the newest earlier version this device ran that does.</summary>
    private long? FirstVerifying(string name, StoreState state, TrustedKeys keys, List<string> actions)
    {
        var candidates = new List<long> { state.Active!.Value };
        candidates.AddRange(state.History.Where(v => v != state.Active).Reverse());
        foreach (long version in candidates)
        {
            try
            {
                SignedBundle.Verify(VersionDirectory(name, version), keys);
                return version;
            }
            catch (Exception e) when (e is DeploymentRefusedException or IOException)
            {
                actions.Add($"{name}: version {version} does not verify: {e.Message}");
            }
        }
        return null;
    }

    /// <summary>Removes versions beyond <see cref="BundleStoreOptions.KeepVersions"/>: never the active, the previous, or a newer install.</summary>
    private void Prune(string bundleName, StoreState state)
    {
        var installed = InstalledVersions(bundleName);
        var keep = new HashSet<long>(installed.Where(v => v > state.Active));
        keep.UnionWith(new[] { state.Active, state.Previous }.OfType<long>());
        foreach (long version in installed.Where(v => !keep.Contains(v)).Reverse().Skip(Math.Max(0, _options.KeepVersions - keep.Count)))
        {
            Discard(VersionDirectory(bundleName, version));
        }
    }

    /// <summary>Moves a version out of bundles/ in one rename before deleting it, so a kill never leaves half of one there.</summary>
    private void Discard(string versionDirectory)
    {
        string trash = Path.Combine(Root, StagingFolder, $"discard.{Guid.NewGuid():N}");
        Directory.Move(versionDirectory, trash);
        AtomicFile.SyncDirectory(Path.GetDirectoryName(versionDirectory)!);
        TryDelete(trash);
    }

    private TrustedKeys LoadKeys()
    {
        try
        {
            return TrustedKeys.Load(_options.TrustedKeysDirectory);
        }
        catch (ArgumentException e)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.UntrustedKey, $"trusted keys cannot be read: {e.Message}");
        }
    }

    private StoreState? LoadState(string bundleName) => StoreState.Load(Path.Combine(NameDirectory(bundleName), StoreState.FileName));

    private void SaveState(StoreState state)
    {
        Directory.CreateDirectory(NameDirectory(state.Name));
        state.Save(Path.Combine(NameDirectory(state.Name), StoreState.FileName));
    }

    private string NameDirectory(string bundleName) => Path.Combine(Root, BundlesFolder, bundleName);

    private string VersionDirectory(string bundleName, long version) =>
        Path.Combine(NameDirectory(bundleName), version.ToString(CultureInfo.InvariantCulture));

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next start's recovery.
        }
    }

    private static string CheckName(string bundleName)
    {
        if (string.IsNullOrEmpty(bundleName) || bundleName.Length > 128 || bundleName.StartsWith('.')
            || !bundleName.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, $"bundle name '{bundleName}' must be 1-128 of A-Z a-z 0-9 . _ - and not start with '.'");
        }
        return bundleName;
    }

    private static long ParseVersion(string version) =>
        ParseVersionOrNull(version) ?? throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, $"version '{version}' is not a whole number from 1 up");

    private static long? ParseVersionOrNull(string? text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v) && v > 0 && v.ToString(CultureInfo.InvariantCulture) == text ? v : null;

    public void Dispose() => _gate.Dispose();
}
