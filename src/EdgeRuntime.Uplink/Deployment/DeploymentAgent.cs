using System.Text.Json;
using EdgeRuntime.Bundles;
using EdgeRuntime.Deployment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MQTTnet;

namespace EdgeRuntime.Uplink.Deployment;

/// <summary>Settings of the device's deployment agent; checked at start.</summary>
public sealed record DeploymentAgentOptions
{
    /// <summary>The bundle this device serves; desired states naming another one are refused.</summary>
    public required string BundleName { get; init; }
    /// <summary>Staging files, download cursors and the agent's record of outcomes.</summary>
    public required string WorkDirectory { get; init; }
    public DownloadOptions Download { get; init; } = new();
    /// <summary>How often an unsent status report is tried again.</summary>
    public TimeSpan ReportRetry { get; init; } = TimeSpan.FromSeconds(2);

    public void Validate()
    {
        var problems = new List<string>(Download.Problems());
        if (UplinkTopics.LevelProblem("BundleName", BundleName) is string bundle)
        {
            problems.Add(bundle);
        }
        if (string.IsNullOrWhiteSpace(WorkDirectory))
        {
            problems.Add("WorkDirectory is empty");
        }
        if (ReportRetry <= TimeSpan.Zero)
        {
            problems.Add($"ReportRetry {ReportRetry} must be positive");
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException($"invalid deployment agent options: {string.Join("; ", problems)}");
        }
    }
}

/// <summary>
/// The device side of model delivery: follows the retained desired state for this device (or, when there is none,
/// for its class), downloads the archive in checked chunks (resuming after a restart), hands it to the on-device
/// store (<see cref="IDeviceDeployment"/>: install, activate, probation) and reports every step on
/// <c>{prefix}/deploy/status/{deviceId}</c>. A version that was refused or failed probation is not tried again;
/// a desired version equal to the kept previous one (a fleet rollback) is activated without a download.
/// </summary>
public sealed class DeploymentAgent : IAsyncDisposable
{
    private const string StateFile = "agent-state.json";
    private const int OutcomesKept = 32;

    private readonly UplinkOptions _uplink;
    private readonly DeploymentAgentOptions _options;
    private readonly MqttSession _session;
    private readonly IDeviceDeployment _deployment;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BundleDownloader _downloader;
    private readonly string _classTopic;
    private readonly string _deviceTopic;
    private readonly string _statusTopic;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _changed = new(0, 1);
    private readonly SemaphoreSlim _reportPending = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<AgentOutcome> _outcomes;
    private DesiredBundle? _classDesired;
    private DesiredBundle? _deviceDesired;
    private CancellationTokenSource? _download;
    private DesiredBundle? _downloading;
    private DeploymentReport? _unsent;
    private DeploymentReport? _last;
    private Task _work = Task.CompletedTask;
    private Task _reporter = Task.CompletedTask;

    public DeploymentAgent(UplinkOptions uplink, DeploymentAgentOptions options, MqttSession session, IDeviceDeployment deployment,
        TimeProvider? time = null, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(uplink);
        ArgumentNullException.ThrowIfNull(options);
        uplink.Validate();
        options.Validate();
        _uplink = uplink;
        _options = options;
        _session = session;
        _deployment = deployment;
        _time = time ?? TimeProvider.System;
        loggers ??= NullLoggerFactory.Instance;
        _logger = loggers.CreateLogger<DeploymentAgent>();
        _downloader = new BundleDownloader(session, uplink.TopicPrefix, Path.Combine(options.WorkDirectory, "staging"), options.Download, _time,
            loggers.CreateLogger<BundleDownloader>());
        _classTopic = UplinkTopics.DesiredForClass(uplink.TopicPrefix, uplink.DeviceClass);
        _deviceTopic = UplinkTopics.DesiredForDevice(uplink.TopicPrefix, uplink.DeviceClass, uplink.DeviceId);
        _statusTopic = UplinkTopics.DeploymentStatus(uplink.TopicPrefix, uplink.DeviceId);
        _outcomes = LoadOutcomes();
        _session.MessageReceived += OnMessageAsync;
    }

    /// <summary>Raised for every report, sent or not yet (the daemon's status, the simulated fleet's tally).</summary>
    public event Action<DeploymentReport>? Reported;

    public DeploymentReport? LastReport => Volatile.Read(ref _last);
    public string StatusTopic => _statusTopic;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_options.WorkDirectory);
        _work = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _reporter = Task.Run(() => SendReportsAsync(_stopping.Token), CancellationToken.None);
        await _session.SubscribeAsync(_classTopic, cancellationToken).ConfigureAwait(false);
        await _session.SubscribeAsync(_deviceTopic, cancellationToken).ConfigureAwait(false);
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        string topic = e.ApplicationMessage.Topic;
        bool forDevice = topic == _deviceTopic;
        if (!forDevice && topic != _classTopic)
        {
            return Task.CompletedTask;
        }
        DesiredBundle? desired = null;
        if (e.ApplicationMessage.Payload.Length > 0)
        {
            try
            {
                desired = DesiredBundle.Parse(System.Buffers.BuffersExtensions.ToArray(e.ApplicationMessage.Payload), $"mqtt {topic}");
            }
            catch (FormatException problem)
            {
                _logger.LogWarning("Refused desired state: {Reason}", problem.Message);
                Report(new DesiredBundle { Bundle = _options.BundleName, Version = "?" }, DeviceDeploymentState.Refused, DeploymentReasons.InvalidDesiredState, problem.Message);
                return Task.CompletedTask;
            }
        }
        lock (_gate)
        {
            if (forDevice)
            {
                _deviceDesired = desired;
            }
            else
            {
                _classDesired = desired;
            }
            // A download the fleet no longer wants stops now; install, activation and probation run to their end.
            if (_downloading is { } current && !Same(current, Effective()))
            {
                _download?.Cancel();
            }
        }
        Signal(_changed);
        return Task.CompletedTask;
    }

    private DesiredBundle? Effective() => _deviceDesired ?? _classDesired;

    private static bool Same(DesiredBundle? a, DesiredBundle? b) =>
        a is not null && b is not null && a.Bundle == b.Bundle && a.Version == b.Version && a.Sha256 == b.Sha256;

    private async Task RunAsync(CancellationToken stopping)
    {
        DesiredBundle? handled = null;
        while (!stopping.IsCancellationRequested)
        {
            DesiredBundle? desired;
            lock (_gate)
            {
                desired = Effective();
            }
            if (desired is null || desired == handled)
            {
                try
                {
                    await _changed.WaitAsync(stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            try
            {
                await ApplyAsync(desired, stopping).ConfigureAwait(false);
                handled = desired;
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                _logger.LogInformation("Download of {Bundle} stopped: the fleet wants another version now", desired);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Storage trouble: say so, and try again when the fleet sends anything (a retained state comes after every reconnect).
                _logger.LogError("Deployment of {Bundle} failed: {Reason}", desired, e.Message);
                Report(desired, DeviceDeploymentState.Refused, DeploymentReasons.Code(DeploymentRefusal.StorageFailed), e.Message);
                handled = desired;
            }
        }
    }

    private async Task ApplyAsync(DesiredBundle desired, CancellationToken stopping)
    {
        if (desired.Bundle != _options.BundleName)
        {
            Report(desired, DeviceDeploymentState.Refused, DeploymentReasons.WrongBundle, $"this device serves '{_options.BundleName}', the fleet sent '{desired.Bundle}'");
            return;
        }
        var state = _deployment.GetState(desired.Bundle);
        if (state.ActiveVersion == desired.Version)
        {
            if (state.Phase == DeploymentPhase.Probation)
            {
                // Interrupted by a restart during probation: judge it now.
                await ProbateAsync(desired, null, stopping).ConfigureAwait(false);
                return;
            }
            _downloader.DiscardAllExcept(null);
            Report(desired, desired.Rollback ? DeviceDeploymentState.RolledBack : DeviceDeploymentState.Committed,
                desired.Rollback ? DeploymentReasons.FleetRollback : null, $"version {desired.Version} is active");
            return;
        }
        if (Outcome(desired) is { } earlier)
        {
            // Refused or failed here before: the same bytes would fail the same way.
            Report(desired, earlier.State, earlier.ReasonCode, $"already tried: {earlier.Reason}", remember: false);
            return;
        }
        if (state.PreviousVersion == desired.Version)
        {
            long started = _time.GetTimestamp();
            await _deployment.RollbackAsync(desired.Bundle, $"the fleet asked for {desired.Version} (rollout {desired.RolloutId ?? "none"})", CancellationToken.None)
                .ConfigureAwait(false);
            Report(desired, DeviceDeploymentState.RolledBack, DeploymentReasons.FleetRollback,
                $"the fleet asked for {desired.Version}; the kept version is active again (was {state.ActiveVersion})",
                timings: new Timings { ActivateMs = _time.GetElapsedTime(started).TotalMilliseconds });
            return;
        }
        if (!desired.HasArchive)
        {
            Report(desired, DeviceDeploymentState.Refused, DeploymentReasons.NotAvailable,
                $"version {desired.Version} is neither active ({state.ActiveVersion ?? "none"}) nor kept ({state.PreviousVersion ?? "none"}), and the desired state names no archive");
            return;
        }
        await DeployAsync(desired, stopping).ConfigureAwait(false);
    }

    private async Task DeployAsync(DesiredBundle desired, CancellationToken stopping)
    {
        var timings = new Timings();
        _downloader.DiscardAllExcept(desired);
        DownloadedArchive archive;
        using (var download = CancellationTokenSource.CreateLinkedTokenSource(stopping))
        {
            lock (_gate)
            {
                _downloading = desired;
                _download = download;
                if (!Same(desired, Effective()))
                {
                    download.Cancel();
                }
            }
            try
            {
                int reported = -1;
                archive = await _downloader.DownloadAsync(desired, (stored, count) =>
                {
                    // The first report and then every quarter: enough for a progress column, not a message per chunk.
                    if (reported < 0 || stored * 4 / count > reported * 4 / count)
                    {
                        reported = stored;
                        Report(desired, DeviceDeploymentState.Downloading, null, $"{stored} of {count} chunks", chunks: stored, remember: false);
                    }
                }, download.Token).ConfigureAwait(false);
            }
            catch (DeploymentRefusedException refused)
            {
                Report(desired, DeviceDeploymentState.Refused, DeploymentReasons.Code(refused.Refusal), refused.Message);
                return;
            }
            finally
            {
                lock (_gate)
                {
                    _downloading = null;
                    _download = null;
                }
            }
        }
        timings = timings with { DownloadMs = archive.Elapsed.TotalMilliseconds };
        long started = _time.GetTimestamp();
        try
        {
            var installed = _deployment.Install(desired.Bundle, desired.Version, archive.Path);
            timings = timings with { InstallMs = _time.GetElapsedTime(started).TotalMilliseconds };
            Report(desired, DeviceDeploymentState.Installed, null, $"installed in {installed.Directory}, signed by {installed.SignedByKeyId}",
                chunks: desired.ChunkCount, timings: timings, remember: false);
            started = _time.GetTimestamp();
            await _deployment.ActivateAsync(desired.Bundle, desired.Version, CancellationToken.None).ConfigureAwait(false);
            timings = timings with { ActivateMs = _time.GetElapsedTime(started).TotalMilliseconds };
        }
        catch (DeploymentRefusedException refused)
        {
            _downloader.DiscardAllExcept(null);
            Report(desired, DeviceDeploymentState.Refused, DeploymentReasons.Code(refused.Refusal), refused.Message, chunks: desired.ChunkCount, timings: timings);
            return;
        }
        _downloader.DiscardAllExcept(null);
        await ProbateAsync(desired, timings, stopping).ConfigureAwait(false);
    }

    private async Task ProbateAsync(DesiredBundle desired, Timings? timings, CancellationToken stopping)
    {
        timings ??= new Timings();
        Report(desired, DeviceDeploymentState.Probation, null, $"version {desired.Version} active, on probation", chunks: desired.ChunkCount, timings: timings, remember: false);
        long started = _time.GetTimestamp();
        var verdict = await _deployment.ProbateAsync(desired.Bundle, stopping).ConfigureAwait(false);
        timings = timings with { ProbationMs = _time.GetElapsedTime(started).TotalMilliseconds };
        Report(desired, verdict.Passed ? DeviceDeploymentState.Committed : DeviceDeploymentState.RolledBack,
            verdict.Passed ? null : DeploymentReasons.ProbationFailed, verdict.Reason, chunks: desired.ChunkCount, timings: timings, figures: verdict.Figures);
    }

    private sealed record Timings
    {
        public double? DownloadMs { get; init; }
        public double? InstallMs { get; init; }
        public double? ActivateMs { get; init; }
        public double? ProbationMs { get; init; }
    }

    private void Report(DesiredBundle desired, DeviceDeploymentState state, string? code, string reason, int? chunks = null, Timings? timings = null,
        IReadOnlyDictionary<string, double>? figures = null, bool remember = true)
    {
        DeploymentState current;
        try
        {
            current = _deployment.GetState(_options.BundleName);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            current = new DeploymentState(_options.BundleName, null, null, DeploymentPhase.None, e.Message);
        }
        var report = new DeploymentReport
        {
            DeviceId = _uplink.DeviceId,
            DeviceClass = _uplink.DeviceClass,
            Bundle = desired.Bundle,
            State = state,
            Version = desired.Version,
            ActiveVersion = current.ActiveVersion,
            PreviousVersion = current.PreviousVersion,
            RolloutId = desired.RolloutId,
            ReasonCode = code,
            Reason = reason,
            ChunksReceived = chunks,
            ChunkCount = desired.ChunkCount,
            DownloadMs = timings?.DownloadMs,
            InstallMs = timings?.InstallMs,
            ActivateMs = timings?.ActivateMs,
            ProbationMs = timings?.ProbationMs,
            Figures = figures,
            AtUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        if (state is DeviceDeploymentState.Refused or DeviceDeploymentState.RolledBack && code != DeploymentReasons.FleetRollback && remember)
        {
            Remember(new AgentOutcome(desired.Bundle, desired.Version, desired.Sha256, state, code, reason));
        }
        var level = state is DeviceDeploymentState.Refused or DeviceDeploymentState.RolledBack ? LogLevel.Warning : LogLevel.Information;
        _logger.Log(level, "Deployment of {Bundle}: {State} ({Code}) {Reason}", desired, state, code ?? "-", reason);
        Volatile.Write(ref _last, report);
        lock (_gate)
        {
            _unsent = report;
        }
        Signal(_reportPending);
        Reported?.Invoke(report);
    }

    /// <summary>Publishes the latest report; one that could not be sent (offline) is tried again, and a newer one replaces it.</summary>
    private async Task SendReportsAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await _reportPending.WaitAsync(_options.ReportRetry, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            DeploymentReport? report;
            lock (_gate)
            {
                report = _unsent;
            }
            if (report is null || !_session.IsConnected)
            {
                continue;
            }
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                timeout.CancelAfter(_uplink.Broker.Timeout);
                if (await _session.PublishAsync(DeploymentMessages.Status(_statusTopic, report), timeout.Token).ConfigureAwait(false) is string refusal)
                {
                    _logger.LogWarning("Deployment status not published: {Reason}", refusal);
                    continue;
                }
                lock (_gate)
                {
                    if (ReferenceEquals(_unsent, report))
                    {
                        _unsent = null;
                    }
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is MqttSessionException or OperationCanceledException)
            {
                // Kept as unsent: tried again after ReportRetry, or sooner when a newer report comes.
                _logger.LogDebug("Deployment status not published yet: {Reason}", e.Message);
            }
        }
    }

    private sealed record AgentOutcome(string Bundle, string Version, string? Sha256, DeviceDeploymentState State, string? ReasonCode, string Reason);

    private AgentOutcome? Outcome(DesiredBundle desired)
    {
        lock (_gate)
        {
            return _outcomes.LastOrDefault(o => o.Bundle == desired.Bundle && o.Version == desired.Version && (desired.Sha256 is null || o.Sha256 == desired.Sha256));
        }
    }

    private void Remember(AgentOutcome outcome)
    {
        AgentOutcome[] snapshot;
        lock (_gate)
        {
            _outcomes.Add(outcome);
            if (_outcomes.Count > OutcomesKept)
            {
                _outcomes.RemoveRange(0, _outcomes.Count - OutcomesKept);
            }
            snapshot = [.. _outcomes];
        }
        AtomicFile.Write(Path.Combine(_options.WorkDirectory, StateFile), stream => JsonSerializer.Serialize(stream, snapshot, DeploymentJson.Options));
    }

    private List<AgentOutcome> LoadOutcomes()
    {
        string path = Path.Combine(_options.WorkDirectory, StateFile);
        if (!File.Exists(path))
        {
            return [];
        }
        try
        {
            return JsonSerializer.Deserialize<List<AgentOutcome>>(File.ReadAllBytes(path), DeploymentJson.Options) ?? [];
        }
        catch (JsonException e)
        {
            // Forgetting outcomes only means a refused version may be tried (and refused) once more.
            _logger.LogWarning("Deployment agent state {Path} is unreadable ({Reason}); starting without it", path, e.Message);
            return [];
        }
    }

    private static void Signal(SemaphoreSlim semaphore)
    {
        try
        {
            semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _session.MessageReceived -= OnMessageAsync;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_work, _reporter).ConfigureAwait(false);
        _stopping.Dispose();
        _changed.Dispose();
        _reportPending.Dispose();
    }
}
