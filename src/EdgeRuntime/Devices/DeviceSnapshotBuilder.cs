namespace EdgeRuntime.Devices;

/// <summary>
/// Collects what the sources read during one pass, counts each reading's status against the source that added
/// it, and passes analog readings through the stuck-sensor check.
/// </summary>
public sealed class DeviceSnapshotBuilder(string board, DateTimeOffset timestamp, StuckSensorDetector? stuck = null)
{
    private readonly List<ThermalZoneReading> _zones = [];
    private readonly List<CpuPolicyReading> _policies = [];
    private readonly List<PowerSupplyReading> _supplies = [];
    private readonly List<PowerRailReading> _rails = [];
    private readonly List<SensorReading> _sensors = [];
    private readonly Dictionary<string, (long Ok, long Unavailable, long Stale, string? Problem)> _counts = [];
    private Reading<ThrottleFlags> _throttle = Reading<ThrottleFlags>.Unavailable("no throttle source on this board");
    private Reading<string> _powerMode = Reading<string>.Unavailable("no power mode source on this board");
    private Reading<double> _load = Reading<double>.Unavailable("no load source");
    private Reading<double> _memoryAvailable = Reading<double>.Unavailable("no memory source");
    private Reading<double> _memoryTotal = Reading<double>.Unavailable("no memory source");

    public DateTimeOffset Timestamp { get; } = timestamp;

    /// <summary>The source whose readings are being added; the monitor sets it before each source runs.</summary>
    public string CurrentSource { get; set; } = "unknown";

    public void AddThermalZone(string zone, string type, Reading<double> celsius) =>
        _zones.Add(new ThermalZoneReading(zone, type, Count(CheckStuck($"thermal:{zone}", celsius))));

    public void AddCpuPolicy(CpuPolicyReading policy)
    {
        Count(policy.CurrentMhz);
        Count(policy.MaxMhz);
        Count(policy.Governor);
        _policies.Add(policy);
    }

    public void SetThrottle(Reading<ThrottleFlags> flags) => _throttle = Count(flags);

    /// <summary>Counts only what applies: a battery's charge and electrical figures, an adapter's online state.</summary>
    public void AddPowerSupply(PowerSupplyReading supply)
    {
        if (supply.IsBattery)
        {
            Count(supply.CapacityPercent);
            Count(supply.Status);
            Count(supply.Volts);
            Count(supply.Amperes);
            Count(supply.Watts);
        }
        else
        {
            Count(supply.Online);
        }
        _supplies.Add(supply);
    }

    public void AddPowerRail(string rail, Reading<double> volts, Reading<double> amperes, Reading<double> watts) =>
        _rails.Add(new PowerRailReading(rail, Count(volts), Count(amperes), Count(CheckStuck($"rail:{rail}", watts))));

    public void SetPowerMode(Reading<string> mode) => _powerMode = Count(mode);

    public void SetLoad(Reading<double> loadAverage1Min) => _load = Count(loadAverage1Min);

    public void SetMemory(Reading<double> availableBytes, Reading<double> totalBytes)
    {
        _memoryAvailable = Count(availableBytes);
        _memoryTotal = Count(totalBytes);
    }

    /// <summary>Adds a named reading; temperature and power readings go through the stuck-sensor check.</summary>
    public void AddSensor(string sensor, string quantity, string unit, Reading<double> value)
    {
        if (quantity is "temperature" or "power")
        {
            value = CheckStuck($"sensor:{sensor}:{quantity}", value);
        }
        _sensors.Add(new SensorReading(sensor, quantity, unit, Count(value)));
    }

    /// <summary>Records that the current source failed as a whole (it threw), with the reason.</summary>
    public void RecordFault(string reason)
    {
        var entry = _counts.GetValueOrDefault(CurrentSource);
        _counts[CurrentSource] = (entry.Ok, entry.Unavailable + 1, entry.Stale, reason);
    }

    /// <summary>Per-source counts of this pass: ok, unavailable, stale, and the last problem seen.</summary>
    public IReadOnlyDictionary<string, (long Ok, long Unavailable, long Stale, string? Problem)> Counts => _counts;

    public DeviceSnapshot Build(ThermalThresholds? thresholds, ThermalState previous)
    {
        var snapshot = new DeviceSnapshot
        {
            Timestamp = Timestamp,
            Board = board,
            ThermalZones = [.. _zones],
            CpuPolicies = [.. _policies],
            Throttle = _throttle,
            PowerSupplies = [.. _supplies],
            PowerRails = [.. _rails],
            PowerMode = _powerMode,
            LoadAverage1Min = _load,
            MemoryAvailableBytes = _memoryAvailable,
            MemoryTotalBytes = _memoryTotal,
            Sensors = [.. _sensors],
        };
        var state = previous;
        if (thresholds is not null && snapshot.HottestCelsius.TryGetValue(out double hottest))
        {
            state = thresholds.Classify(hottest, previous);
        }
        // A platform that reports headroom (Android) knows its own limits better than our thresholds.
        var headroom = _sensors.FirstOrDefault(s => s.Quantity == "thermal_headroom");
        if (headroom is not null && headroom.Value.TryGetValue(out double fraction))
        {
            var platform = AndroidThermal.FromHeadroom(fraction);
            state = thresholds is null || platform > state ? platform : state;
        }
        return snapshot with { ThermalState = state };
    }

    private Reading<double> CheckStuck(string key, Reading<double> reading) => stuck?.Check(key, reading) ?? reading;

    private Reading<T> Count<T>(Reading<T> reading)
    {
        var entry = _counts.GetValueOrDefault(CurrentSource);
        _counts[CurrentSource] = reading.Status switch
        {
            ReadingStatus.Ok => (entry.Ok + 1, entry.Unavailable, entry.Stale, entry.Problem),
            ReadingStatus.Stale => (entry.Ok, entry.Unavailable, entry.Stale + 1, reading.Reason),
            _ => (entry.Ok, entry.Unavailable + 1, entry.Stale, reading.Reason),
        };
        return reading;
    }
}
