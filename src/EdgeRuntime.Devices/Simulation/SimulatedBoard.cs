using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Gpio;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Simulation;

/// <summary>
/// A board that does not exist: a first-order thermal model (die heated by CPU power, cooled to ambient through a
/// thermal resistance, more with the fan), the firmware's DVFS throttling at the descriptor's trip points, and a
/// battery. After each <see cref="Step(TimeSpan, double)"/> it writes the real board's sysfs files under its root,
/// so the same readers that run on the board read it. Time only moves when stepped, so runs are deterministic.
/// </summary>
public sealed class SimulatedBoard
{
    private readonly SimulationDescriptor _model;
    private readonly IReadOnlyList<double> _steps;
    private readonly SysfsTreeWriter _writer;
    private readonly FanCurve? _fan;
    private readonly Action<TimeSpan>? _advanceClock;
    private readonly Random _noise;
    private readonly List<FrequencyChange> _changes = [];
    private int _stepIndex;
    private double _sinceChange = double.PositiveInfinity;
    private double _sinceCheck;
    private double _simulatedSeconds;
    private double _energyWattHours;
    private ThrottleFlags _occurred;

    /// <param name="board">The descriptor; its simulation section gives the model's parameters.</param>
    /// <param name="rootDirectory">Where the fake tree goes (created if needed).</param>
    /// <param name="advanceClock">Called with each step's duration, to move a fake clock the readers use in step.</param>
    /// <param name="ambientCelsius">Overrides the descriptor's ambient temperature (a hot enclosure, a cold room).</param>
    public SimulatedBoard(BoardDescriptor board, string rootDirectory, Action<TimeSpan>? advanceClock = null, double? ambientCelsius = null, int seed = 1)
    {
        Board = board;
        _model = board.Simulation ?? throw new BoardDescriptorException($"board {board.Id} has no simulation section");
        _steps = board.CpuFreq.StepsMhz;
        if (_steps.Count == 0)
        {
            throw new BoardDescriptorException($"board {board.Id} has no cpu_freq.steps_mhz to simulate");
        }
        if (ambientCelsius is { } ambient && (double.IsNaN(ambient) || ambient is < -40 or > 70))
        {
            throw new ArgumentOutOfRangeException(nameof(ambientCelsius), ambient, "ambient temperature must be within -40..70 °C");
        }
        Directory.CreateDirectory(rootDirectory);
        Root = new SysfsRoot(rootDirectory);
        _writer = new SysfsTreeWriter(Root);
        _advanceClock = advanceClock;
        _noise = new Random(seed);
        AmbientCelsius = ambientCelsius ?? _model.AmbientCelsius;
        Celsius = AmbientCelsius;
        _fan = board.Fan is { Steps.Count: > 0 } fan ? new FanCurve(fan.Steps, fan.HysteresisCelsius) : null;
        if (_model.Battery is { } battery)
        {
            _energyWattHours = battery.CapacityWattHours * battery.InitialPercent / 100;
            ExternalPower = battery.ExternalPowerAtStart;
        }
        else
        {
            ExternalPower = true;
        }
        WriteTree();
    }

    public BoardDescriptor Board { get; }

    public SysfsRoot Root { get; }

    public TimeSpan Elapsed { get; private set; }

    /// <summary>Air temperature around the board; a scenario may change it as the run goes.</summary>
    public double AmbientCelsius
    {
        get => _ambient;
        set
        {
            if (double.IsNaN(value) || value is < -40 or > 70)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "ambient temperature must be within -40..70 °C");
            }
            _ambient = value;
        }
    }

    private double _ambient;

    /// <summary>A failed fan moves no air: the firmware still drives it, but it adds no conductance.</summary>
    public bool FanFailed { get; set; }

    /// <summary>Sets the battery's charge (a scenario that starts a battery period at a given charge).</summary>
    public void SetBatteryPercent(double percent)
    {
        var battery = _model.Battery ?? throw new InvalidOperationException($"board {Board.Id} has no battery in its simulation model");
        if (double.IsNaN(percent) || percent is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(percent), percent, "battery charge must be within 0..100 %");
        }
        _energyWattHours = battery.CapacityWattHours * percent / 100;
    }

    /// <summary>On battery with nothing left: the board is off.</summary>
    public bool BatteryEmpty => _model.Battery is not null && !ExternalPower && _energyWattHours <= 0;

    /// <summary>The die temperature of the model (written to the zones with sensor noise).</summary>
    public double Celsius { get; private set; }

    /// <summary>The frequency the firmware allows now (one of the descriptor's steps).</summary>
    public double CapMhz => _steps[_stepIndex];

    /// <summary>The frequency the cores run at: the cap when busy, the lowest step when idle.</summary>
    public double FrequencyMhz => Utilisation > 0.1 ? CapMhz : _steps[^1];

    public double Utilisation { get; private set; }

    /// <summary>CPU power in the last step (idle plus dynamic).</summary>
    public double CpuWatts { get; private set; }

    public int FanLevel { get; private set; }

    public ThrottleFlags Throttle { get; private set; }

    /// <summary>Mains or USB power present: the battery charges instead of draining.</summary>
    public bool ExternalPower { get; set; }

    public double? BatteryPercent => _model.Battery is { } b ? 100 * _energyWattHours / b.CapacityWattHours : null;

    public bool BatteryLow => _model.Battery is { } b && BatteryPercent < b.LowPercent && !ExternalPower;

    public IReadOnlyList<FrequencyChange> FrequencyChanges => _changes;

    /// <summary>Rewrite the tree after every step (turn off for long runs that only need the model, then call <see cref="WriteTree"/>).</summary>
    public bool WriteAfterEachStep { get; set; } = true;

    /// <summary>Runs the board for <paramref name="dt"/> at a CPU utilisation (0..1), with power from the model.</summary>
    public void Step(TimeSpan dt, double utilisation)
    {
        if (double.IsNaN(utilisation) || utilisation is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(utilisation), utilisation, "utilisation must be within 0..1");
        }
        Run(dt, utilisation, null);
    }

    /// <summary>
    /// Runs the board for <paramref name="dt"/> with a given CPU power (watts, idle included), as a governor does
    /// from its per-variant power table; the power applies at the current frequency.
    /// </summary>
    public void StepWithPower(TimeSpan dt, double cpuWatts, double utilisation = 1)
    {
        if (double.IsNaN(cpuWatts) || cpuWatts < 0 || cpuWatts > 500)
        {
            throw new ArgumentOutOfRangeException(nameof(cpuWatts), cpuWatts, "CPU power must be within 0..500 W");
        }
        if (double.IsNaN(utilisation) || utilisation is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(utilisation), utilisation, "utilisation must be within 0..1");
        }
        Run(dt, utilisation, cpuWatts);
    }

    /// <summary>The CPU power the model gives for a utilisation at the current frequency cap.</summary>
    public double ModelCpuWatts(double utilisation) =>
        _model.IdleWatts + _model.DynamicWattsAtMax * utilisation * Math.Pow(CapMhz / _steps[0], _model.FrequencyExponent);

    private void Run(TimeSpan dt, double utilisation, double? cpuWatts)
    {
        if (dt <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(dt), dt, "a step must be longer than zero");
        }
        Utilisation = utilisation;
        double remaining = dt.TotalSeconds;
        double check = _model.Dvfs.CheckIntervalSeconds;
        while (remaining > 1e-9)
        {
            double chunk = Math.Min(remaining, check - _sinceCheck);
            Advance(chunk, cpuWatts ?? ModelCpuWatts(utilisation));
            remaining -= chunk;
            _simulatedSeconds += chunk;
            _sinceCheck += chunk;
            _sinceChange += chunk;
            if (_sinceCheck >= check - 1e-9)
            {
                _sinceCheck = 0;
                Firmware();
            }
        }
        Elapsed += dt;
        _advanceClock?.Invoke(dt);
        if (WriteAfterEachStep)
        {
            WriteTree();
        }
    }

    private void Advance(double seconds, double cpuWatts)
    {
        CpuWatts = cpuWatts;
        double conductance = 1 / _model.ThermalResistance + (_fan is null || FanFailed ? 0 : _model.FanConductance * FanLevel / _fan.MaxLevel);
        double equilibrium = AmbientCelsius + cpuWatts / conductance;
        // Exact solution of C dT/dt = P - G (T - Ta) for constant P, so the result does not depend on step size.
        Celsius = equilibrium + (Celsius - equilibrium) * Math.Exp(-seconds * conductance / _model.ThermalCapacitance);
        if (_model.Battery is { } battery)
        {
            double boardWatts = cpuWatts + _model.BoardWatts;
            double deltaWh = (ExternalPower ? battery.ChargeWatts : -boardWatts) * seconds / 3600;
            _energyWattHours = Math.Clamp(_energyWattHours + deltaWh, 0, battery.CapacityWattHours);
        }
    }

    /// <summary>What the board's firmware does at each check: fan steps, then DVFS throttling.</summary>
    private void Firmware()
    {
        if (_fan is not null)
        {
            FanLevel = _fan.Next(Celsius, FanLevel);
        }
        var dvfs = _model.Dvfs;
        int last = _steps.Count - 1;
        if (Celsius >= dvfs.HardLimitCelsius && _stepIndex != last)
        {
            ChangeStep(last, $"at or above the hard limit {dvfs.HardLimitCelsius} °C");
        }
        else if (Celsius >= dvfs.SoftLimitCelsius && _stepIndex < last && _sinceChange >= dvfs.StepDownIntervalSeconds)
        {
            ChangeStep(_stepIndex + 1, $"at or above the soft limit {dvfs.SoftLimitCelsius} °C");
        }
        else if (Celsius < dvfs.SoftLimitCelsius - dvfs.RecoverHysteresisCelsius && _stepIndex > 0 && _sinceChange >= dvfs.StepUpIntervalSeconds)
        {
            ChangeStep(_stepIndex - 1, $"below {dvfs.SoftLimitCelsius - dvfs.RecoverHysteresisCelsius} °C (soft limit minus hysteresis)");
        }
        var now = ThrottleFlags.None;
        if (Celsius >= dvfs.SoftLimitCelsius)
        {
            now |= ThrottleFlags.SoftTemperatureLimit;
        }
        if (Celsius >= dvfs.HardLimitCelsius)
        {
            now |= ThrottleFlags.Throttled;
        }
        if (_stepIndex > 0)
        {
            now |= ThrottleFlags.FrequencyCapped;
        }
        if (BatteryLow)
        {
            now |= ThrottleFlags.UnderVoltage;
        }
        _occurred |= (ThrottleFlags)((int)now << 16);
        Throttle = now | _occurred;
    }

    private void ChangeStep(int index, string reason)
    {
        _changes.Add(new FrequencyChange(TimeSpan.FromSeconds(Math.Round(_simulatedSeconds, 6)), _steps[_stepIndex], _steps[index], Celsius, reason));
        _stepIndex = index;
        _sinceChange = 0;
    }

    /// <summary>Writes the board's files for the current state.</summary>
    public void WriteTree()
    {
        if (_model.Model.Length > 0)
        {
            _writer.WriteModel(_model.Model);
        }
        if (_model.JetsonRelease is { } release)
        {
            _writer.WriteText("/etc/nv_tegra_release", release + "\n");
        }
        for (int i = 0; i < _model.Zones.Count; i++)
        {
            double noise = (_noise.NextDouble() - 0.5) * _model.SensorNoiseCelsius;
            _writer.WriteThermalZone(i, _model.Zones[i].Type, Celsius + _model.Zones[i].OffsetCelsius + noise);
        }
        _writer.WriteCpuPolicy(0, FrequencyMhz, _steps[0], _steps[0], _steps[^1], "ondemand");
        if (Board.Throttle is { } throttle)
        {
            string node = throttle.SysfsPaths.FirstOrDefault(p => !p.Contains('*')) ?? SysfsTreeWriter.ThrottleNodePath;
            _writer.WriteThrottle(Throttle, node);
        }
        if (_model.Battery is { } battery)
        {
            double percent = BatteryPercent!.Value;
            double volts = battery.EmptyVolts + (battery.FullVolts - battery.EmptyVolts) * percent / 100;
            double watts = ExternalPower ? (percent >= 99.5 ? 0 : battery.ChargeWatts) : CpuWatts + _model.BoardWatts;
            string status = ExternalPower ? (percent >= 99.5 ? "Full" : "Charging") : "Discharging";
            // The kernel reports discharge current as negative on most fuel gauges.
            _writer.WriteBattery("battery", percent, status, volts, (ExternalPower ? 1 : -1) * watts / volts);
            _writer.WriteMains("ac", ExternalPower);
        }
        if (Board.PowerRails is { Kind: "hwmon-ina3221", Globs.Count: > 0 } rails)
        {
            string device = rails.Globs[0].Replace("*", "0", StringComparison.Ordinal);
            double total = CpuWatts + _model.BoardWatts;
            _writer.WriteHwmonRail(device, 1, "VDD_IN", 5.0, total / 5.0);
            _writer.WriteHwmonRail(device, 2, "VDD_CPU_GPU_CV", 1.0, CpuWatts / 1.0);
            _writer.WriteHwmonRail(device, 3, "VDD_SOC", 1.0, _model.BoardWatts * 0.3);
        }
        if (Board.PowerRails is { Kind: "iio-ina3221x", Globs.Count: > 0 } iio)
        {
            string device = iio.Globs[0].Replace("ina3221x/*", "ina3221x/6-0040", StringComparison.Ordinal).Replace("*", "0", StringComparison.Ordinal);
            _writer.WriteIioRail(device, 0, "POM_5V_IN", 5.0, (CpuWatts + _model.BoardWatts) / 5.0);
            _writer.WriteIioRail(device, 1, "POM_5V_GPU", 5.0, _model.BoardWatts * 0.1);
            _writer.WriteIioRail(device, 2, "POM_5V_CPU", 5.0, CpuWatts / 5.0);
        }
        if (Board.PowerModes is { Modes.Count: > 0 } modes)
        {
            _writer.WriteText(modes.StatusPath, $"pmode:{modes.Modes[0].Id:0000} fmode:quiet\n");
        }
        _writer.WriteLoad(Utilisation * Board.CpuFreq.Cores);
        _writer.WriteMemory(_model.MemoryTotalBytes, (long)(_model.MemoryTotalBytes * 0.6));
    }
}
