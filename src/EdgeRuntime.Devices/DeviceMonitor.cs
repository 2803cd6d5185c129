using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.I2c;
using EdgeRuntime.Devices.Sources;
using EdgeRuntime.Devices.Sysfs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Devices;

/// <summary>
/// Reads every source of a board into a snapshot. A source that throws is counted as a fault and shows as
/// unavailable; nothing a sensor does escapes <see cref="Read"/>.
/// </summary>
public sealed class DeviceMonitor : IDeviceMonitor, IDisposable
{
    private readonly IReadOnlyList<ISensorSource> _sources;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly StuckSensorDetector _stuck;
    private readonly ThermalThresholds? _thresholds;
    private readonly Dictionary<string, (long Reads, long Ok, long Unavailable, long Stale, long Faults, string? Problem)> _health = [];
    private readonly Lock _gate = new();
    private ThermalState _state = ThermalState.Nominal;

    public DeviceMonitor(string board, IEnumerable<ISensorSource> sources, DeviceMonitorOptions options, TimeProvider time, ThermalThresholds? thresholds = null, ILogger<DeviceMonitor>? logger = null)
    {
        options.Validate();
        Board = board;
        _sources = [.. sources];
        _time = time;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _stuck = new StuckSensorDetector(time, options.StuckAfter);
        _thresholds = options.Thresholds ?? thresholds;
        foreach (var source in _sources)
        {
            _health[source.Name] = default;
        }
    }

    /// <summary>A monitor with every source the descriptor names, reading under <paramref name="root"/>.</summary>
    public static DeviceMonitor ForBoard(BoardDescriptor board, SysfsRoot root, DeviceMonitorOptions options, TimeProvider time,
        II2cDeviceFactory? i2c = null, ICommandRunner? commands = null, ILogger<DeviceMonitor>? logger = null)
    {
        options.Validate();
        var tools = options.RunBoardTools ? commands ?? ProcessCommandRunner.Default : null;
        var sources = new List<ISensorSource>
        {
            new ThermalZoneSource(root, board.Thermal.ZoneGlobs),
            new CpuFreqSource(root, board.CpuFreq.PolicyGlobs),
        };
        if (board.Throttle is { } throttle)
        {
            sources.Add(new RaspberryPiThrottleSource(root, throttle.SysfsPaths, throttle.Vcgencmd ? tools : null));
        }
        sources.Add(new PowerSupplySource(root, board.PowerSupply.Globs));
        if (board.PowerRails is { } rails)
        {
            sources.Add(new PowerRailSource(root, rails.Kind, rails.Globs));
        }
        if (board.PowerModes is { } modes)
        {
            sources.Add(new NvpModelSource(root, modes, tools));
        }
        sources.Add(new LoadMemorySource(root));
        if (options.ReadI2c)
        {
            var factory = i2c ?? new LinuxI2cDeviceFactory();
            foreach (var chip in board.I2c)
            {
                sources.Add(chip.Chip switch
                {
                    "ina219" or "ina236" => new PowerMonitorSource(chip, factory),
                    "mcp9808" or "lm75" => new TemperatureChipSource(chip, factory),
                    _ => new PiJuiceSource(chip, factory),
                });
            }
        }
        return new DeviceMonitor(board.Id, sources, options, time, board.Thermal.Thresholds, logger);
    }

    public string Board { get; }

    public IReadOnlyList<ISensorSource> Sources => _sources;

    public DeviceSnapshot Read()
    {
        lock (_gate)
        {
            var builder = new DeviceSnapshotBuilder(Board, _time.GetUtcNow(), _stuck);
            var faulted = new HashSet<string>();
            foreach (var source in _sources)
            {
                builder.CurrentSource = source.Name;
                try
                {
                    source.ReadInto(builder);
                }
                catch (Exception e)
                {
                    // The contract is that a sensor never stops the monitor; log and count instead.
                    faulted.Add(source.Name);
                    builder.RecordFault($"{source.Name} failed: {e.GetType().Name}: {e.Message}");
                    _logger.LogWarning(e, "sensor source {Source} failed", source.Name);
                }
            }
            foreach (var name in _sources.Select(s => s.Name).Distinct())
            {
                var counts = builder.Counts.GetValueOrDefault(name);
                var entry = _health.GetValueOrDefault(name);
                _health[name] = (entry.Reads + 1, entry.Ok + counts.Ok, entry.Unavailable + counts.Unavailable, entry.Stale + counts.Stale,
                    entry.Faults + (faulted.Contains(name) ? 1 : 0), counts.Problem ?? entry.Problem);
            }
            var snapshot = builder.Build(_thresholds, _state);
            _state = snapshot.ThermalState;
            return snapshot;
        }
    }

    public IReadOnlyList<SourceHealth> GetHealth()
    {
        lock (_gate)
        {
            return [.. _health.Select(h => new SourceHealth(h.Key, h.Value.Reads, h.Value.Ok, h.Value.Unavailable, h.Value.Stale, h.Value.Faults, h.Value.Problem))];
        }
    }

    public void Dispose()
    {
        foreach (var source in _sources.OfType<IDisposable>())
        {
            source.Dispose();
        }
    }
}
