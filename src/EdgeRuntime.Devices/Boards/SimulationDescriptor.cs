namespace EdgeRuntime.Devices.Boards;

/// <summary>
/// Parameters of the simulated board: a first-order thermal RC model driven by CPU power, DVFS throttling at the
/// trip points, and an optional battery. Figures are estimates for the board, stated in its README.
/// </summary>
public sealed record SimulationDescriptor
{
    public double AmbientCelsius { get; init; } = 25;
    /// <summary>°C per watt from die to ambient without the fan.</summary>
    public double ThermalResistance { get; init; } = 13;
    /// <summary>Joules per °C of die, package and board that heat together.</summary>
    public double ThermalCapacitance { get; init; } = 9;
    /// <summary>Extra conductance (W/°C) the fan adds at its top level, scaled by level.</summary>
    public double FanConductance { get; init; }
    public double IdleWatts { get; init; } = 1;
    /// <summary>CPU power above idle at full utilisation and the top frequency.</summary>
    public double DynamicWattsAtMax { get; init; } = 4;
    /// <summary>Dynamic power scales with (f / fmax) to this power (frequency times voltage squared).</summary>
    public double FrequencyExponent { get; init; } = 2;
    /// <summary>Power drawn by the rest of the board (USB, RAM, radios), counted against the battery only.</summary>
    public double BoardWatts { get; init; } = 1.5;
    public DvfsDescriptor Dvfs { get; init; } = new();
    public BatteryDescriptor? Battery { get; init; }
    /// <summary>Thermal zones to write, each as an offset from the die temperature.</summary>
    public IReadOnlyList<SimulatedZone> Zones { get; init; } = [new("cpu-thermal", 0)];
    public string Model { get; init; } = "";
    public string? JetsonRelease { get; init; }
    /// <summary>Peak-to-peak noise added to written temperatures, as real sensors show (seeded, so runs repeat).</summary>
    public double SensorNoiseCelsius { get; init; } = 0.2;
    public long MemoryTotalBytes { get; init; } = 4L << 30;
    /// <summary>
    /// What a model costs on this board's CPU when no one has measured it there: fp32 throughput and each precision's
    /// cost relative to fp32, from published benchmarks cited in the board's README (not this machine's figures).
    /// </summary>
    public InferenceCostModel? Costs { get; init; }

    internal void Validate(BoardDescriptor board, Action<string> fail)
    {
        if (ThermalResistance <= 0 || ThermalCapacitance <= 0)
        {
            fail("simulation.thermal_resistance and thermal_capacitance must be positive");
        }
        if (IdleWatts < 0 || DynamicWattsAtMax < 0 || BoardWatts < 0 || FanConductance < 0)
        {
            fail("simulation powers and fan_conductance must be zero or more");
        }
        if (board.CpuFreq.StepsMhz.Count == 0)
        {
            fail("a simulated board needs cpu_freq.steps_mhz");
        }
        if (!(Dvfs.SoftLimitCelsius < Dvfs.HardLimitCelsius) || Dvfs.RecoverHysteresisCelsius < 0 || Dvfs.CheckIntervalSeconds <= 0
            || Dvfs.StepDownIntervalSeconds <= 0 || Dvfs.StepUpIntervalSeconds <= 0)
        {
            fail("simulation.dvfs needs soft_limit_celsius < hard_limit_celsius, hysteresis >= 0 and positive intervals");
        }
        if (Battery is { } battery && (battery.CapacityWattHours <= 0 || battery.ChargeWatts < 0 || battery.InitialPercent is < 0 or > 100))
        {
            fail("simulation.battery needs positive capacity_watt_hours, charge_watts >= 0 and initial_percent in 0..100");
        }
        if (Costs is { } costs && (!(costs.Fp32Gmacs > 0) || costs.OverheadMs < 0 || costs.P95OverP50 < 1
            || costs.Relative.Any(p => !(p.Value > 0)) || !costs.Relative.ContainsKey("fp32")))
        {
            fail("simulation.costs needs fp32_gmacs > 0, overhead_ms >= 0, p95_over_p50 >= 1 and positive relative costs including fp32");
        }
        if (Zones.Count == 0)
        {
            fail("simulation.zones must name at least one thermal zone");
        }
    }
}

/// <summary>How the firmware throttles: step down while at or above the soft limit, drop to the lowest step at the hard limit, step back up once cooler by the hysteresis.</summary>
public sealed record DvfsDescriptor
{
    public double SoftLimitCelsius { get; init; } = 80;
    public double HardLimitCelsius { get; init; } = 85;
    public double RecoverHysteresisCelsius { get; init; } = 5;
    public double CheckIntervalSeconds { get; init; } = 1;
    public double StepDownIntervalSeconds { get; init; } = 5;
    public double StepUpIntervalSeconds { get; init; } = 10;
}

public sealed record BatteryDescriptor
{
    public double CapacityWattHours { get; init; } = 10;
    public double ChargeWatts { get; init; } = 5;
    public double InitialPercent { get; init; } = 100;
    public double EmptyVolts { get; init; } = 3.3;
    public double FullVolts { get; init; } = 4.2;
    public bool ExternalPowerAtStart { get; init; }
    /// <summary>Capacity (%) below which the simulated low-battery line and under-voltage flag go active.</summary>
    public double LowPercent { get; init; } = 10;
}

public sealed record SimulatedZone(string Type, double OffsetCelsius);

/// <summary>
/// A variant's latency on a board from its multiply-accumulates and precision:
/// overhead_ms + MACs / (fp32_gmacs · 10⁶) × relative[precision] milliseconds, one thread, full clock.
/// </summary>
public sealed record InferenceCostModel
{
    /// <summary>Effective fp32 multiply-accumulates per second on one core at full clock, in billions.</summary>
    public double Fp32Gmacs { get; init; } = 1;
    /// <summary>Fixed cost of one inference (runtime dispatch, small ops) in ms.</summary>
    public double OverheadMs { get; init; } = 0.05;
    /// <summary>p95 over median of the service time.</summary>
    public double P95OverP50 { get; init; } = 1.1;
    /// <summary>Cost of a MAC in each precision relative to fp32 (fp32 = 1); unlisted precisions cost as fp32.</summary>
    public IReadOnlyDictionary<string, double> Relative { get; init; } = new Dictionary<string, double> { ["fp32"] = 1 };
    /// <summary>Where the figures come from.</summary>
    public string Source { get; init; } = "";

    public double MedianMs(long macs, string precision) => OverheadMs + macs / (Fp32Gmacs * 1e6) * Relative.GetValueOrDefault(precision, 1);
}
