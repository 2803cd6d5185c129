namespace EdgeRuntime.Devices;

/// <summary>
/// Everything the device monitor read in one pass. Each figure is a <see cref="Reading{T}"/>, so a missing or
/// implausible sensor shows up with its reason instead of as a number.
/// </summary>
public sealed record DeviceSnapshot
{
    public required DateTimeOffset Timestamp { get; init; }
    public required string Board { get; init; }
    public IReadOnlyList<ThermalZoneReading> ThermalZones { get; init; } = [];
    public IReadOnlyList<CpuPolicyReading> CpuPolicies { get; init; } = [];
    public Reading<ThrottleFlags> Throttle { get; init; } = Reading<ThrottleFlags>.Unavailable("no throttle source on this board");
    public IReadOnlyList<PowerSupplyReading> PowerSupplies { get; init; } = [];
    public IReadOnlyList<PowerRailReading> PowerRails { get; init; } = [];
    public Reading<string> PowerMode { get; init; } = Reading<string>.Unavailable("no power mode source on this board");
    public Reading<double> LoadAverage1Min { get; init; } = Reading<double>.Unavailable("not read");
    public Reading<double> MemoryAvailableBytes { get; init; } = Reading<double>.Unavailable("not read");
    public Reading<double> MemoryTotalBytes { get; init; } = Reading<double>.Unavailable("not read");
    public IReadOnlyList<SensorReading> Sensors { get; init; } = [];
    public ThermalState ThermalState { get; init; }

    /// <summary>The hottest trustworthy temperature among the thermal zones and temperature sensors.</summary>
    public Reading<double> HottestCelsius
    {
        get
        {
            var values = ThermalZones.Select(z => z.Celsius)
                .Concat(Sensors.Where(s => s.Quantity == "temperature").Select(s => s.Value))
                .Where(r => r.IsOk).Select(r => r.Value).ToList();
            return values.Count == 0 ? Reading<double>.Unavailable("no temperature could be read") : Reading<double>.Ok(values.Max());
        }
    }

    /// <summary>The first battery among the power supplies, if any.</summary>
    public PowerSupplyReading? Battery => PowerSupplies.FirstOrDefault(p => p.IsBattery);

    /// <summary>True when a mains / USB supply reports online, or a battery reports charging or full.</summary>
    public Reading<bool> ExternalPower
    {
        get
        {
            foreach (var supply in PowerSupplies.Where(p => !p.IsBattery))
            {
                if (supply.Online.TryGetValue(out bool online) && online)
                {
                    return Reading<bool>.Ok(true);
                }
            }
            if (Battery?.Status.TryGetValue(out string? status) == true)
            {
                return Reading<bool>.Ok(status is "Charging" or "Full" or "Not charging");
            }
            return PowerSupplies.Any(p => !p.IsBattery && p.Online.IsOk)
                ? Reading<bool>.Ok(false)
                : Reading<bool>.Unavailable("no power supply reports its state");
        }
    }

    /// <summary>The lowest current frequency across policies (the one a throttled core runs at).</summary>
    public Reading<double> CpuMhz
    {
        get
        {
            var values = CpuPolicies.Select(p => p.CurrentMhz).Where(r => r.IsOk).Select(r => r.Value).ToList();
            return values.Count == 0 ? Reading<double>.Unavailable("no cpufreq policy could be read") : Reading<double>.Ok(values.Min());
        }
    }
}
