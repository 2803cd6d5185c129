using System.Globalization;
using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;
using EdgeRuntime.Governance;
using EdgeRuntime.Server.Domain;
using EdgeRuntime.Server.Models;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Governance;

/// <summary>
/// The daemon's device loop. Each tick it re-reads the profile file when it changed, reads the sensors once,
/// announces thermal state changes, and lets every model's governor decide. It keeps track of failing and hung
/// ticks, so the watchdog stops vouching for a daemon whose policy no longer runs.
/// </summary>
internal sealed class GovernorLoop : IDisposable
{
    /// <summary>Largest profile accepted, in characters of text or bytes of a file; real ones are a few kilobytes.</summary>
    public const int MaxProfileSize = 1 << 20;

    private readonly IReadOnlyList<ModelHost> _models;
    private readonly EventHub _events;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool? _batteryReadable;
    private readonly SharedSnapshotMonitor _monitor;
    private readonly IDisposable? _ownedMonitor;
    private readonly string? _profilePath;
    private readonly Lock _tickGate = new();
    private readonly Lock _stateGate = new();
    private ITimer? _timer;
    private bool _disposed;
    private bool _thermalSeen;
    private string? _thermalState;
    private long _ticks;
    private long _tickFailures;
    private long? _failingSince;
    private long? _tickStartedAt;
    private string? _lastError;
    private string _profileFrom;
    private string? _profileRefusal;

    private GovernorLoop(IReadOnlyList<ModelHost> models, EventHub events, TimeProvider time, ILogger logger, BoardDescriptor board, string boardReason,
        IDeviceMonitor monitor, ProfileStore profiles, string profileFrom, string? profilePath, bool adaptive)
    {
        _models = models;
        _events = events;
        _time = time;
        _logger = logger;
        Board = board;
        BoardReason = boardReason;
        _monitor = new SharedSnapshotMonitor(monitor);
        _ownedMonitor = monitor as IDisposable;
        Profiles = profiles;
        _profileFrom = profileFrom;
        _profilePath = profilePath;
        Adaptive = adaptive;
        Profiles.Changed += OnProfileChanged;
    }

    public BoardDescriptor Board { get; }

    /// <summary>Joules one CPU-second costs on this board at a clock (its power model); null without one.</summary>
    public double? JoulesPerCpuSecond(double? cpuMhz) => BoardEnergy.JoulesPerCpuSecond(Board, cpuMhz);
    public string BoardReason { get; }
    public ProfileStore Profiles { get; }
    public bool Adaptive { get; }

    /// <summary>The last snapshot read, or null before the first tick.</summary>
    public DeviceSnapshot? LastSnapshot => _monitor.Latest;

    /// <summary>How long ticks have been failing, or the current tick has been running; zero while all is well.</summary>
    public TimeSpan StalledFor
    {
        get
        {
            lock (_stateGate)
            {
                long now = _time.GetTimestamp();
                var failing = _failingSince is long since ? _time.GetElapsedTime(since, now) : TimeSpan.Zero;
                var running = _tickStartedAt is long started ? _time.GetElapsedTime(started, now) : TimeSpan.Zero;
                return failing > running ? failing : running;
            }
        }
    }

    /// <summary>
    /// Resolves the board (configured, or detected under the sysfs root), the profile (the file, or the board's
    /// built-in one) and the device monitor, and attaches a governor to every model when adaptive.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown board, missing sysfs root, or a profile file that is missing, invalid or for another board.</exception>
    public static GovernorLoop Create(ServerOptions options, IReadOnlyList<ModelHost> models, EventHub events, TimeProvider time, ILoggerFactory loggers,
        Func<BoardDescriptor, SysfsRoot, IDeviceMonitor>? monitorFactory = null)
    {
        var logger = loggers.CreateLogger<GovernorLoop>();
        string rootDirectory = Path.GetFullPath(options.SysfsRoot);
        if (!Directory.Exists(rootDirectory))
        {
            throw new ArgumentException($"SysfsRoot '{rootDirectory}' is not a directory");
        }
        var root = new SysfsRoot(rootDirectory);
        var catalog = BoardCatalog.BuiltIn();
        BoardDescriptor board;
        string boardReason;
        if (options.Board == ServerOptions.AutoBoard)
        {
            var detected = BoardDetector.Detect(root, catalog);
            (board, boardReason) = (detected.Board, $"detected: {detected.Reason}");
        }
        else if (catalog.TryGet(options.Board, out board))
        {
            boardReason = "configured";
        }
        else
        {
            throw new ArgumentException($"unknown board '{options.Board}'; known: {string.Join(", ", catalog.Boards.Select(b => b.Id).Order(StringComparer.Ordinal))}, or \"{ServerOptions.AutoBoard}\"");
        }

        ProfileStore profiles;
        string profileFrom;
        string? profilePath = options.ProfilePath is null ? null : Path.GetFullPath(options.ProfilePath);
        if (profilePath is not null)
        {
            if (!File.Exists(profilePath))
            {
                throw new ArgumentException($"profile file '{profilePath}' (ProfilePath) does not exist");
            }
            GovernorProfile profile;
            try
            {
                profile = ProfileJson.Load(profilePath);
            }
            catch (Exception e) when (e is ProfileException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"profile file cannot be used: {e.Message}", e);
            }
            if (profile.DeviceClass != board.Id)
            {
                throw new ArgumentException($"profile '{profilePath}' is for device class '{profile.DeviceClass}', but this board is '{board.Id}' ({boardReason})");
            }
            profiles = new ProfileStore(profile);
            // Primes the store's change detection with the file as loaded; offering the same version again is refused quietly.
            profiles.ReloadIfChanged(profilePath);
            profileFrom = profilePath;
        }
        else
        {
            profiles = new ProfileStore(ProfileCatalog.BuiltIn(board.Id));
            profileFrom = "built-in";
        }

        // Board tools (vcgencmd, nvpmodel) and I2C buses belong to this machine, not to a simulated tree.
        var monitor = monitorFactory?.Invoke(board, root)
            ?? DeviceMonitor.ForBoard(board, root, new DeviceMonitorOptions { ReadI2c = root.IsHost, RunBoardTools = root.IsHost }, time,
                logger: loggers.CreateLogger<DeviceMonitor>());
        var loop = new GovernorLoop(models, events, time, logger, board, boardReason, monitor, profiles, profileFrom, profilePath, options.Adaptive);
        if (options.Adaptive)
        {
            foreach (var model in models)
            {
                model.AttachGovernor(profiles, loop._monitor);
            }
        }
        logger.LogInformation("Board {Board} ({Reason}); profile {DeviceClass} version {Version} from {From}; governor {Mode}",
            board.Id, boardReason, profiles.Current.DeviceClass, profiles.Current.Version, profileFrom, options.Adaptive ? "adaptive" : "off (sensors only)");
        return loop;
    }

    /// <summary>Ticks once now (so status has sensors from the start), then on the profile's interval.</summary>
    public void Start()
    {
        Tick();
        var period = Period(Profiles.Current);
        _timer = _time.CreateTimer(_ => Tick(), null, period, period);
    }

    public void Tick()
    {
        // A tick still running (slow sensors) makes this one a no-op rather than a second reader.
        if (!_tickGate.TryEnter())
        {
            return;
        }
        try
        {
            if (_disposed)
            {
                return;
            }
            long started = _time.GetTimestamp();
            lock (_stateGate)
            {
                _tickStartedAt = started;
            }
            var failures = new List<string>();
            if (_profilePath is not null)
            {
                ReloadProfileFile(_profilePath);
            }
            DeviceSnapshot? snapshot = null;
            try
            {
                snapshot = _monitor.Refresh();
                AnnounceThermalChange(snapshot);
                AnnounceBatteryReadability(snapshot);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failures.Add($"reading the sensors failed: {e.GetType().Name}: {e.Message}");
            }
            if (snapshot is not null && Adaptive)
            {
                foreach (var model in _models)
                {
                    try
                    {
                        model.GovernorTick();
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        failures.Add($"governor of {model.Name} failed: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
            Finish(started, failures);
        }
        finally
        {
            _tickGate.Exit();
        }
    }

    private void Finish(long started, List<string> failures)
    {
        bool firstFailure, recovered;
        lock (_stateGate)
        {
            _ticks++;
            _tickStartedAt = null;
            firstFailure = failures.Count > 0 && _failingSince is null;
            recovered = failures.Count == 0 && _failingSince is not null;
            if (failures.Count == 0)
            {
                _failingSince = null;
            }
            else
            {
                _tickFailures++;
                _failingSince ??= started;
                _lastError = string.Join("; ", failures);
            }
        }
        // Once per run of failures, not twice a second.
        if (firstFailure)
        {
            _logger.LogError("Governor tick failed: {Problem}; the current variants keep serving", string.Join("; ", failures));
        }
        else if (recovered)
        {
            _logger.LogInformation("Governor ticks succeed again");
        }
    }

    private void ReloadProfileFile(string path)
    {
        ProfileUpdate? update;
        try
        {
            update = Profiles.ReloadIfChanged(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            update = new ProfileUpdate(false, $"{path}: cannot be read: {e.Message}", Profiles.Current);
        }
        if (update is not null)
        {
            Record(update, path);
        }
    }

    /// <summary>Offers a profile from a client (its JSON text, or a file), or re-reads the configured profile file.</summary>
    /// <exception cref="RefusedException">InvalidRequest for a malformed request; ReloadFailed when the profile is refused (the one in force stays).</exception>
    public ProfileOutcome OfferProfile(string? profileJson, string? path)
    {
        if (profileJson is not null && path is not null)
        {
            throw new RefusedException(Refusal.InvalidRequest, "reload kind=profile: give either 'profile' (the JSON text) or 'path', not both");
        }
        string source;
        string text;
        if (profileJson is string json)
        {
            if (json.Length > MaxProfileSize)
            {
                throw new RefusedException(Refusal.InvalidRequest, $"reload kind=profile: the profile is {json.Length} characters; at most {MaxProfileSize}");
            }
            (source, text) = ("client", json);
        }
        else
        {
            string file = path ?? _profilePath ?? throw new RefusedException(Refusal.InvalidRequest,
                "reload kind=profile needs 'profile' (the JSON text) or 'path' (a .json file); this daemon has no profile file to re-read");
            source = Path.GetFullPath(file);
            text = ReadProfileFile(source);
        }
        var update = Profiles.Offer(text, source);
        Record(update, source);
        if (!update.Accepted)
        {
            throw new RefusedException(Refusal.ReloadFailed, $"profile refused: {update.Reason}; version {update.Current.Version} stays in force");
        }
        return new ProfileOutcome(source, update.Current.DeviceClass, update.Current.Version, update.Reason);
    }

    private string ReadProfileFile(string path)
    {
        RefusedException Refused(string why) => new(Refusal.ReloadFailed, $"profile refused: '{path}' {why}; version {Profiles.Current.Version} stays in force");
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            throw Refused("is not a .json file");
        }
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw Refused("does not exist");
            }
            if (info.Length > MaxProfileSize)
            {
                throw Refused($"is {info.Length} bytes; a profile may have at most {MaxProfileSize}");
            }
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Refused($"cannot be read: {e.Message}");
        }
    }

    /// <summary>Shows the outcome of a profile that arrived another way (from the fleet over MQTT) in the status and events.</summary>
    public void RecordProfileOutcome(ProfileUpdate update, string source) => Record(update, source);

    private void Record(ProfileUpdate update, string source)
    {
        lock (_stateGate)
        {
            if (update.Accepted)
            {
                _profileFrom = source;
                _profileRefusal = null;
            }
            else
            {
                _profileRefusal = update.Reason;
            }
        }
        if (!update.Accepted)
        {
            _logger.LogWarning("Profile refused: {Reason}; version {Version} stays in force", update.Reason, update.Current.Version);
            return;
        }
        _logger.LogInformation("Profile {DeviceClass} version {Version} in force (from {Source})", update.Current.DeviceClass, update.Current.Version, source);
        _events.Publish(new ProfileInForce(_time.GetUtcNow(), $"profile {update.Current.DeviceClass} version {update.Current.Version} in force (from {source})"));
    }

    private void OnProfileChanged(GovernorProfile profile)
    {
        var period = Period(profile);
        _timer?.Change(period, period);
    }

    private void AnnounceThermalChange(DeviceSnapshot snapshot)
    {
        string? state = SensorReadout.ThermalState(snapshot);
        string? previous;
        lock (_stateGate)
        {
            previous = _thermalState;
            bool seen = _thermalSeen;
            _thermalState = state;
            _thermalSeen = true;
            if (!seen || previous == state)
            {
                return;
            }
        }
        string at = snapshot.HottestCelsius.TryGetValue(out double celsius) ? string.Create(CultureInfo.InvariantCulture, $" at {celsius:F1} °C") : "";
        string detail = $"{state ?? "unknown"} (was {previous ?? "unknown"}){at}";
        _logger.LogInformation("Thermal state {Detail}", detail);
        _events.Publish(new ThermalStateChanged(snapshot.Timestamp, detail));
    }

    /// <summary>Logs once when a battery's capacity stops reading (garbage, missing, gone) and once when it reads again.</summary>
    private void AnnounceBatteryReadability(DeviceSnapshot snapshot)
    {
        var battery = snapshot.Battery;
        bool readable = battery is not null && battery.CapacityPercent.TryGetValue(out double percent) && double.IsFinite(percent);
        string? problem = readable ? null : battery is null ? "no battery is reported any more" : battery.CapacityPercent.Reason ?? "unreadable";
        bool? before;
        lock (_stateGate)
        {
            if (battery is null && _batteryReadable is null)
            {
                return; // A board without a battery: nothing to announce.
            }
            before = _batteryReadable;
            _batteryReadable = readable;
        }
        if (before == readable)
        {
            return;
        }
        if (!readable)
        {
            _logger.LogWarning("Battery capacity unknown ({Problem}); the governor holds its battery tier and will not move to heavier variants until it reads again", problem);
        }
        else if (before == false)
        {
            _logger.LogInformation("Battery capacity readable again: {Percent:F0}%", battery!.CapacityPercent.Value);
        }
    }

    /// <summary>The last sensor snapshot, the board and profile in force, and how the ticks go.</summary>
    public GovernanceReport Report()
    {
        var profile = Profiles.Current;
        lock (_stateGate)
        {
            return new GovernanceReport(_monitor.Latest, Adaptive, Board.Id, BoardReason, profile, _profileFrom, _profileRefusal, Period(profile),
                _ticks, _tickFailures, _failingSince is long since ? _time.GetElapsedTime(since) : null, _lastError);
        }
    }

    private static TimeSpan Period(GovernorProfile profile) => TimeSpan.FromSeconds(profile.Policy.TickSeconds);

    public void Dispose()
    {
        _timer?.Dispose();
        // Waits for a tick in progress, so no tick touches a model after this returns.
        lock (_tickGate)
        {
            _disposed = true;
        }
        Profiles.Changed -= OnProfileChanged;
        _ownedMonitor?.Dispose();
    }
}
