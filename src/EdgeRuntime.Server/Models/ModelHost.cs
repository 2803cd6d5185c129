using System.Globalization;
using EdgeRuntime.Bundles;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Tensors;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Models;

/// <summary>
/// One served model: its current runtime (swapped atomically on reload), app hints, switch history and the
/// reasons for the current variant. The governor, when it lands, switches through <see cref="SwitchTo"/>
/// and reports its reasons through <see cref="SetReasons"/>.
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
    private volatile RuntimeLease _current;
    private string[] _reasons;
    private string? _pendingReason;
    private long _switches;
    private long _reloads;
    private SwitchEvent? _lastSwitch;

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
        Hook(lease);
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
    /// <exception cref="ProtocolException">Unknown or unloadable variant (the current one stays).</exception>
    public void SwitchTo(string variantId, string reason)
    {
        var lease = Acquire() ?? throw new ProtocolException(ErrorCode.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            lock (_switchGate)
            {
                if (lease.Runtime.CurrentVariant == variantId)
                {
                    SetReasons([reason]);
                    return;
                }
                _pendingReason = reason;
                try
                {
                    lease.Runtime.SwitchTo(variantId);
                }
                catch (KeyNotFoundException e)
                {
                    throw new ProtocolException(ErrorCode.UnknownVariant, e.Message);
                }
                catch (VariantUnavailableException e)
                {
                    throw new ProtocolException(ErrorCode.UnknownVariant, $"{e.Message}; '{lease.Runtime.CurrentVariant}' keeps serving");
                }
                finally
                {
                    _pendingReason = null;
                }
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

    /// <summary>Merges hints (an empty value removes one); a "variant" hint pins that variant at once.</summary>
    public Dictionary<string, string> SetHints(IReadOnlyDictionary<string, string> hints)
    {
        foreach (var (key, value) in hints)
        {
            if (string.IsNullOrEmpty(key) || key.Length > 64 || (value?.Length ?? 0) > 256)
            {
                throw new ProtocolException(ErrorCode.InvalidRequest, "hint keys must be 1 to 64 characters and values at most 256");
            }
        }
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
                throw new ProtocolException(ErrorCode.InvalidRequest, $"at most {_options.MaxHints} hints may be set per model");
            }
            snapshot = new Dictionary<string, string>(_hints);
        }
        _events.Publish(new ServerEvent
        {
            Kind = "hints",
            Model = Name,
            AtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            Detail = string.Join(", ", hints.Select(h => $"{h.Key}={h.Value}")),
        });
        return snapshot;
    }

    /// <summary>
    /// Opens <paramref name="path"/> (or the current path again) into a new runtime and swaps it in. Requests
    /// already running finish on the old runtime, which is disposed once they drain. A bundle that cannot serve
    /// is refused and the old one keeps serving.
    /// </summary>
    public async Task<ReloadResponse> ReloadAsync(string? path, CancellationToken cancellationToken)
    {
        string target = path is null ? _current.Path : _options.ResolveBundlePath(path);
        if (path is not null && _options.BundleRoot is not null && !IsUnder(target, _options.ResolveBundlePath(".")))
        {
            throw new ProtocolException(ErrorCode.ReloadFailed, $"'{path}' is outside the bundle root '{_options.BundleRoot}'; '{Name}' keeps serving");
        }
        await _reloadGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ModelRuntime fresh;
            try
            {
                fresh = await Task.Run(() => ModelRuntime.Open(target, _runtimeOptions, _time, _logger), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
            {
                _logger.LogWarning("Reload of {Model} from {Path} refused: {Reason}", Name, target, e.Message);
                throw new ProtocolException(ErrorCode.ReloadFailed, $"bundle at '{target}' cannot serve: {e.Message}; '{Name}' keeps serving from '{Path}'");
            }
            if (fresh.Bundle.Name != Name)
            {
                fresh.Dispose();
                throw new ProtocolException(ErrorCode.ReloadFailed, $"bundle at '{target}' is '{fresh.Bundle.Name}', not '{Name}'; '{Name}' keeps serving from '{Path}'");
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
            Hook(lease);
            var old = Interlocked.Exchange(ref _current, lease);
            old.Retire();
            lock (_stateGate)
            {
                _reloads++;
                _reasons = [.. reasons];
            }
            _logger.LogInformation("Reloaded {Model} from {Path}; serving {Variant}", Name, target, fresh.CurrentVariant);
            _events.Publish(new ServerEvent { Kind = "reload", Model = Name, AtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(), Detail = target });
            return new ReloadResponse
            {
                Model = Name,
                Path = target,
                CurrentVariant = fresh.CurrentVariant,
                Variants = [.. fresh.Bundle.Variants.Select(v => v.Id)],
            };
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    /// <summary>The variant to run a request with a quality floor on: null for the current one.</summary>
    /// <exception cref="ProtocolException">No available variant has a recorded quality at or above the floor.</exception>
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
        return choice?.Id ?? throw new ProtocolException(ErrorCode.QualityUnavailable,
            $"no available variant of '{Name}' has a recorded quality of at least {floor.ToString(CultureInfo.InvariantCulture)}; recorded: " +
            string.Join(", ", manifest.Variants.Select(v => $"{v.Id}={v.Quality?.Value.ToString("0.####", CultureInfo.InvariantCulture) ?? "unknown"}")));
    }

    public ModelInfo Describe()
    {
        var lease = Acquire() ?? throw new ProtocolException(ErrorCode.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            var runtime = lease.Runtime;
            var manifest = runtime.Bundle.Manifest;
            return new ModelInfo
            {
                Name = Name,
                Path = lease.Path,
                ReferenceVariant = manifest.ReferenceVariant,
                CurrentVariant = runtime.CurrentVariant,
                Inputs = [.. runtime.Inputs.Select(Describe)],
                Outputs = [.. runtime.Outputs.Select(Describe)],
                Variants =
                [
                    .. runtime.GetStatus().Select(s => new VariantInfo
                    {
                        Id = s.Id,
                        Precision = s.Manifest.Precision,
                        SizeBytes = s.Manifest.SizeBytes,
                        Sparsity = s.Manifest.Sparsity,
                        QualityMetric = s.Manifest.Quality?.Metric,
                        Quality = s.Manifest.Quality?.Value,
                        State = StateName(s.State),
                        UnavailableReason = s.Reason,
                    }),
                ],
            };
        }
        finally
        {
            lease.Release();
        }
    }

    public ModelStatus Status()
    {
        var lease = Acquire() ?? throw new ProtocolException(ErrorCode.ShuttingDown, $"model '{Name}' is closed");
        try
        {
            var status = new ModelStatus
            {
                Name = Name,
                CurrentVariant = lease.Runtime.CurrentVariant,
                Variants =
                [
                    .. lease.Runtime.GetStatus().Select(s => new VariantLatency
                    {
                        Id = s.Id,
                        State = StateName(s.State),
                        Current = s.IsCurrent,
                        Count = s.Latency.TotalCount,
                        Failures = s.Latency.Failures,
                        P50Ms = NullIfNaN(s.Latency.P50Ms),
                        P95Ms = NullIfNaN(s.Latency.P95Ms),
                        P99Ms = NullIfNaN(s.Latency.P99Ms),
                        EwmaMs = NullIfNaN(s.Latency.EwmaMs),
                    }),
                ],
            };
            lock (_stateGate)
            {
                status.Reasons = _reasons;
                status.Switches = _switches;
                status.LastSwitch = _lastSwitch;
                status.Hints = new Dictionary<string, string>(_hints);
                status.Reloads = _reloads;
            }
            return status;
        }
        finally
        {
            lease.Release();
        }
    }

    private void Hook(RuntimeLease lease)
    {
        Action<VariantSwitch> handler = OnSwitched;
        lease.Runtime.Switched += handler;
        lease.Disposed += () => lease.Runtime.Switched -= handler;
    }

    private void OnSwitched(VariantSwitch change)
    {
        var record = new SwitchEvent
        {
            From = change.From,
            To = change.To,
            AtUnixMs = change.At.ToUnixTimeMilliseconds(),
            Reason = _pendingReason ?? "switched",
        };
        lock (_stateGate)
        {
            _switches++;
            _lastSwitch = record;
            _reasons = [record.Reason];
        }
        _events.Publish(new ServerEvent { Kind = "switch", Model = Name, AtUnixMs = record.AtUnixMs, Switch = record });
    }

    private static TensorInfo Describe(TensorSignature signature) => new()
    {
        Name = signature.Name,
        DataType = signature.ElementType.ToName(),
        Shape = [.. signature.Shape.Select(d => d.Size ?? -1)],
        DimensionNames = [.. signature.Shape.Select(d => d.Symbol)],
    };

    private static string StateName(VariantState state) => state switch
    {
        VariantState.Ready => "ready",
        VariantState.Unavailable => "unavailable",
        _ => "not_loaded",
    };

    private static double? NullIfNaN(double value) => double.IsNaN(value) ? null : value;

    private static bool IsUnder(string path, string root)
    {
        string prefix = root.EndsWith(System.IO.Path.DirectorySeparatorChar) ? root : root + System.IO.Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, StringComparison.Ordinal) || path == root;
    }

    public void Dispose()
    {
        _current.Retire();
        _reloadGate.Dispose();
    }
}
