using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Devices;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;
using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Governance;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Models;

/// <summary>
/// One served model: its current runtime (swapped atomically on reload), app hints, switch history and the
/// reasons for the current variant. Every switch of the runtime goes through this host, which records it: a
/// client's pin (<see cref="SwitchTo"/>) or, with a governor attached, the decision <see cref="GovernorTick"/> gets
/// from its <see cref="AdaptiveController"/>. A "variant" hint pins a variant and holds the governor until removed.
/// </summary>
internal sealed class ModelHost : IDisposable
{
    public const string VariantHint = "variant";

    private readonly RuntimeOptions _runtimeOptions;
    private readonly ServerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EventHub _events;
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly Lock _switchGate = new();
    private readonly Lock _stateGate = new();
    private readonly Dictionary<string, string> _hints = new(StringComparer.Ordinal);
    private readonly DecisionHistory _decisions = new();
    private volatile RuntimeLease _current;
    private string[] _reasons;
    private long _switches;
    private long _reloads;
    private VariantSwitched? _lastSwitch;
    private ProfileStore? _profiles;
    private IDeviceMonitor? _monitor;
    private volatile Governed? _governed;

    private ModelHost(RuntimeLease lease, RuntimeOptions runtimeOptions, ServerOptions options, TimeProvider time, ILogger logger, EventHub events)
    {
        _runtimeOptions = runtimeOptions;
        _options = options;
        _time = time;
        _logger = logger;
        _events = events;
        Name = lease.Runtime.Bundle.Name;
        _current = lease;
        _reasons = [$"initial: {(lease.Runtime.CurrentVariant == lease.Runtime.Bundle.Manifest.ReferenceVariant ? "reference variant of the bundle" : "first variant that loaded")}"];
    }

    public string Name { get; }
    public string Path => _current.Path;
    public string CurrentVariant => _current.Runtime.CurrentVariant;

    /// <summary>Opens a bundle for serving. Throws what <see cref="ModelRuntime.Open(string, RuntimeOptions?, TimeProvider?, ILogger?)"/> throws.</summary>
    public static ModelHost Open(string path, RuntimeOptions runtimeOptions, ServerOptions options, TimeProvider time, ILogger logger, EventHub events)
    {
        var runtime = ModelRuntime.Open(path, runtimeOptions, time, logger);
        return new ModelHost(new RuntimeLease(runtime, path), runtimeOptions, options, time, logger, events);
    }

    /// <summary>The runtime new requests use, with a reference the caller must release; null once disposed.</summary>
    public RuntimeLease? Acquire()
    {
        while (true)
        {
            var lease = _current;
            if (lease.TryAcquire())
            {
                return lease;
            }
            if (lease == _current)
            {
                return null;
            }
        }
    }

    /// <summary>Switches the serving variant and records why.</summary>
    /// <exception cref="RefusedException">Unknown or unloadable variant (the current one stays).</exception>
    public void SwitchTo(string variantId, string reason)
    {
        var lease = Acquire() ?? throw new RefusedException(Refusal.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            lock (_switchGate)
            {
                string previous = lease.Runtime.CurrentVariant;
                if (previous == variantId)
                {
                    SetReasons([reason]);
                    return;
                }
                try
                {
                    lease.Runtime.SwitchTo(variantId);
                }
                catch (KeyNotFoundException e)
                {
                    throw new RefusedException(Refusal.UnknownVariant, e.Message);
                }
                catch (VariantUnavailableException e)
                {
                    throw new RefusedException(Refusal.UnknownVariant, $"{e.Message}; '{lease.Runtime.CurrentVariant}' keeps serving");
                }
                RecordSwitch(previous, variantId, reason, code: null);
            }
        }
        finally
        {
            lease.Release();
        }
    }

    public void SetReasons(string[] reasons)
    {
        lock (_stateGate)
        {
            _reasons = reasons;
        }
    }

    /// <summary>Lets a governor with these profiles and this device choose the variant from now on (and after reloads).</summary>
    public void AttachGovernor(ProfileStore profiles, IDeviceMonitor monitor)
    {
        lock (_switchGate)
        {
            _profiles = profiles;
            _monitor = monitor;
            _governed = CreateGoverned(_current);
        }
    }

    /// <summary>
    /// One governor decision: switches the runtime when the governor says so and publishes the switch with the
    /// governor's reason. Does nothing without a governor, or while a client pins a variant.
    /// </summary>
    /// <returns>The decision, or null when the governor did not decide this time.</returns>
    public GovernorDecision? GovernorTick()
    {
        lock (_switchGate)
        {
            var governed = _governed;
            if (governed is null || !governed.Lease.TryAcquire())
            {
                return null;
            }
            try
            {
                if (governed.Lease != _current || PinnedVariant() is not null)
                {
                    return null;
                }
                string before = governed.Lease.Runtime.CurrentVariant;
                GovernorDecision decision;
                try
                {
                    decision = governed.Controller.Tick();
                }
                catch (Exception e)
                {
                    string after = governed.Lease.Runtime.CurrentVariant;
                    if (after != before)
                    {
                        RecordSwitch(before, after, $"governor: switched, then its tick failed: {e.Message}", code: null);
                    }
                    throw;
                }
                lock (_stateGate)
                {
                    _decisions.Add(decision);
                    _reasons = _decisions.Reasons();
                }
                if (decision.Switched)
                {
                    RecordSwitch(decision.Previous, decision.Variant, DecisionHistory.Describe(decision), decision.Reason.ToString());
                }
                return decision;
            }
            finally
            {
                governed.Lease.Release();
            }
        }
    }

    private Governed? CreateGoverned(RuntimeLease lease)
    {
        if (_profiles is null)
        {
            return null;
        }
        var previous = _governed;
        previous?.Controller.Dispose();
        try
        {
            var controller = new AdaptiveController(lease.Runtime, _profiles, _monitor, _time, _logger);
            if (_options.FixedKnobs is not null)
            {
                controller.KnobPolicy = null;
            }
            lock (_stateGate)
            {
                controller.Hints = GovernorHintKeys.From(_hints);
            }
            return new Governed(lease, controller);
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException or ObjectDisposedException)
        {
            _logger.LogWarning("No governor for {Model}: {Reason}; the current variant stays", Name, e.Message);
            SetReasons([$"no governor: {e.Message}"]);
            return null;
        }
    }

    private string? PinnedVariant()
    {
        lock (_stateGate)
        {
            return _hints.GetValueOrDefault(VariantHint);
        }
    }

    /// <summary>Merges hints (an empty value removes one); a "variant" hint pins that variant at once.</summary>
    public Dictionary<string, string> SetHints(IReadOnlyDictionary<string, string> hints)
    {
        foreach (var (key, value) in hints)
        {
            if (string.IsNullOrEmpty(key) || key.Length > 64 || (value?.Length ?? 0) > 256)
            {
                throw new RefusedException(Refusal.InvalidRequest, "hint keys must be 1 to 64 characters and values at most 256");
            }
        }
        GovernorHintKeys.Validate(hints);
        if (hints.TryGetValue(VariantHint, out string? pinned) && !string.IsNullOrEmpty(pinned))
        {
            SwitchTo(pinned, $"hint: variant '{pinned}' pinned by a client");
        }
        Dictionary<string, string> snapshot;
        lock (_stateGate)
        {
            foreach (var (key, value) in hints)
            {
                if (string.IsNullOrEmpty(value))
                {
                    _hints.Remove(key);
                }
                else
                {
                    _hints[key] = value;
                }
            }
            if (_hints.Count > _options.MaxHints)
            {
                foreach (var key in hints.Keys)
                {
                    _hints.Remove(key);
                }
                throw new RefusedException(Refusal.InvalidRequest, $"at most {_options.MaxHints} hints may be set per model");
            }
            snapshot = new Dictionary<string, string>(_hints);
        }
        if (_governed is { } governed)
        {
            governed.Controller.Hints = GovernorHintKeys.From(snapshot);
        }
        _events.Publish(new HintsChanged(Name, _time.GetUtcNow(), string.Join(", ", hints.Select(h => $"{h.Key}={h.Value}"))));
        return snapshot;
    }

    /// <summary>
    /// Opens <paramref name="path"/> (or the current path again) into a new runtime and swaps it in. Requests
    /// already running finish on the old runtime, which is disposed once they drain. A bundle that cannot serve
    /// is refused and the old one keeps serving.
    /// </summary>
    public async Task<ReloadOutcome> ReloadAsync(string? path, CancellationToken cancellationToken)
    {
        string target = path is null ? _current.Path : ConfinedToBundleRoot(path);
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (BundleTrust.Problem(target, _options.TrustedKeysDirectory) is string untrusted)
            {
                _logger.LogWarning("Reload of {Model} from {Path} refused: {Reason}", Name, target, untrusted);
                throw new RefusedException(Refusal.ReloadFailed, $"bundle at '{target}' refused: {untrusted}; '{Name}' keeps serving from '{Path}'");
            }
            ModelRuntime fresh;
            try
            {
                fresh = await Task.Run(() => ModelRuntime.Open(target, _runtimeOptions, _time, _logger), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
            {
                _logger.LogWarning("Reload of {Model} from {Path} refused: {Reason}", Name, target, e.Message);
                // The client hears what kind of problem it is; the exception text (which may quote the files) stays in the log.
                throw new RefusedException(Refusal.ReloadFailed, $"bundle at '{target}' cannot serve: {ClientSafeReason(e)}; '{Name}' keeps serving from '{Path}'");
            }
            if (fresh.Bundle.Name != Name)
            {
                fresh.Dispose();
                throw new RefusedException(Refusal.ReloadFailed, $"bundle at '{target}' is '{fresh.Bundle.Name}', not '{Name}'; '{Name}' keeps serving from '{Path}'");
            }
            string? pinned;
            lock (_stateGate)
            {
                _hints.TryGetValue(VariantHint, out pinned);
            }
            var reasons = new List<string> { $"reload: bundle reopened from '{target}'" };
            if (pinned is not null && fresh.Bundle.Variants.Any(v => v.Id == pinned))
            {
                try
                {
                    fresh.SwitchTo(pinned);
                    reasons.Insert(0, $"hint: variant '{pinned}' pinned by a client");
                }
                catch (VariantUnavailableException e)
                {
                    reasons.Add($"pinned variant '{pinned}' unavailable: {e.Reason}");
                }
            }
            var lease = new RuntimeLease(fresh, target);
            RuntimeLease old;
            lock (_switchGate)
            {
                old = Interlocked.Exchange(ref _current, lease);
                _governed = CreateGoverned(lease);
            }
            old.Retire();
            lock (_stateGate)
            {
                _reloads++;
                _reasons = [.. reasons];
            }
            _logger.LogInformation("Reloaded {Model} from {Path}; serving {Variant}", Name, target, fresh.CurrentVariant);
            _events.Publish(new BundleReloaded(Name, _time.GetUtcNow(), target));
            return new ReloadOutcome(Name, target, fresh.CurrentVariant, [.. fresh.Bundle.Variants.Select(v => v.Id)]);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>The variant to run a request with a quality floor on: null for the current one.</summary>
    /// <exception cref="RefusedException">No available variant has a recorded quality at or above the floor.</exception>
    public string? ChooseForQuality(ModelRuntime runtime, double floor)
    {
        var manifest = runtime.Bundle.Manifest;
        if (manifest.FindVariant(runtime.CurrentVariant)?.Quality?.Value >= floor)
        {
            return null;
        }
        // Without a cost model yet, the smallest variant that keeps the quality is the cheapest guess.
        var choice = runtime.GetStatus()
            .Where(s => s.State != VariantState.Unavailable && s.Manifest.Quality?.Value >= floor)
            .OrderBy(s => s.Manifest.SizeBytes)
            .FirstOrDefault();
        return choice?.Id ?? throw new RefusedException(Refusal.QualityUnavailable,
            $"no available variant of '{Name}' has a recorded quality of at least {floor.ToString(CultureInfo.InvariantCulture)}; recorded: " +
            string.Join(", ", manifest.Variants.Select(v => $"{v.Id}={v.Quality?.Value.ToString("0.####", CultureInfo.InvariantCulture) ?? "unknown"}")));
    }

    public ModelDescription Describe()
    {
        var lease = Acquire() ?? throw new RefusedException(Refusal.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            var runtime = lease.Runtime;
            return new ModelDescription(Name, lease.Path, runtime.Bundle.Manifest.ReferenceVariant, runtime.CurrentVariant,
                runtime.Inputs, runtime.Outputs, runtime.GetStatus());
        }
        finally
        {
            lease.Release();
        }
    }

    public ModelReport Report()
    {
        var lease = Acquire() ?? throw new RefusedException(Refusal.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            var variants = lease.Runtime.GetStatus();
            lock (_stateGate)
            {
                return new ModelReport(Name, lease.Runtime.CurrentVariant, variants, _reasons, _switches, _lastSwitch,
                    new Dictionary<string, string>(_hints), _reloads, _decisions.Entries())
                {
                    Knobs = lease.Runtime.Knobs,
                    Cpu = lease.Runtime.GetCpuUsage(),
                };
            }
        }
        finally
        {
            lease.Release();
        }
    }

    private void RecordSwitch(string from, string to, string reason, string? code)
    {
        var record = new VariantSwitched(Name, _time.GetUtcNow(), from, to, reason, code);
        lock (_stateGate)
        {
            _switches++;
            _lastSwitch = record;
            if (code is null)
            {
                // A governor switch keeps the decision history as its reasons.
                _reasons = [record.Reason];
            }
        }
        _events.Publish(record);
    }

    /// <summary>
    /// The full path of a reload target, which must lie under the bundle root (configured, or the parent of the
    /// served bundles) both as written and with every symbolic link resolved; relative paths are taken from the root.
    /// </summary>
    private string ConfinedToBundleRoot(string path)
    {
        string root = _options.ResolvedBundleRoot;
        string target = System.IO.Path.GetFullPath(path, root);
        string realRoot = RealPath.Of(root) ?? root;
        string real = RealPath.Of(target) ?? target;
        if (!ServerOptions.IsUnder(target, root) || !ServerOptions.IsUnder(real, realRoot))
        {
            throw new RefusedException(Refusal.ReloadFailed, $"'{path}' is outside the bundle root '{root}'; '{Name}' keeps serving");
        }
        return target;
    }

    /// <summary>A reason fit for a client: the runtime's own messages about bundles, else only the kind of failure.</summary>
    private static string ClientSafeReason(Exception e) => e switch
    {
        EdgeRuntime.Bundles.BundleException bundle => bundle.Message,
        FileNotFoundException or DirectoryNotFoundException => "it does not exist",
        UnauthorizedAccessException => "the daemon may not read it",
        _ => "it cannot be opened (the daemon's log has the details)",
    };

    /// <summary>A controller and the runtime it drives; replaced together on reload.</summary>
    private sealed record Governed(RuntimeLease Lease, AdaptiveController Controller);

    public void Dispose()
    {
        lock (_switchGate)
        {
            _governed?.Controller.Dispose();
            _governed = null;
        }
        _current.Retire();
        _reloadGate.Dispose();
    }
}
