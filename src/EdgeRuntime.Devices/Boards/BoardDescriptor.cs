using System.Globalization;

namespace EdgeRuntime.Devices.Boards;

/// <summary>
/// What a board exposes and how it behaves: where its sensors are, its thermal trip points, DVFS steps, power
/// modes, pins, I2C chips, and the parameters of its simulation. Loaded from devices/&lt;board&gt;/board.json
/// (snake_case); the sections below are the file's shape.
/// </summary>
public sealed record BoardDescriptor
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>"linux" (read through sysfs) or "android" (read through the platform's APIs).</summary>
    public string Platform { get; init; } = "linux";
    public BoardDetection Detect { get; init; } = new();
    public ThermalDescriptor Thermal { get; init; } = new();
    public CpuFreqDescriptor CpuFreq { get; init; } = new();
    public ThrottleDescriptor? Throttle { get; init; }
    public PowerSupplyDescriptor PowerSupply { get; init; } = new();
    public PowerRailsDescriptor? PowerRails { get; init; }
    public PowerModesDescriptor? PowerModes { get; init; }
    public FanDescriptor? Fan { get; init; }
    public PinsDescriptor? Pins { get; init; }
    public IReadOnlyList<I2cChipDescriptor> I2c { get; init; } = [];
    public SimulationDescriptor? Simulation { get; init; }
    public AndroidDescriptor? Android { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Throws <see cref="BoardDescriptorException"/> naming the first field that is wrong.</summary>
    public void Validate(string source)
    {
        void Fail(string message) => throw new BoardDescriptorException($"{source}: {message}");

        if (string.IsNullOrWhiteSpace(Id) || Id.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-')))
        {
            Fail($"id '{Id}' must be lower-case letters, digits and '-'");
        }
        if (Platform is not ("linux" or "android"))
        {
            Fail($"platform must be linux or android, not '{Platform}'");
        }
        try
        {
            Thermal.Thresholds.Validate();
        }
        catch (ArgumentException e)
        {
            Fail("thermal.thresholds: " + e.Message);
        }
        foreach (var path in Thermal.ZoneGlobs.Concat(CpuFreq.PolicyGlobs).Concat(PowerSupply.Globs)
                     .Concat(Throttle?.SysfsPaths ?? []).Concat(PowerRails?.Globs ?? []))
        {
            if (!path.StartsWith('/'))
            {
                Fail($"sensor path '{path}' must be absolute (start with '/')");
            }
        }
        if (CpuFreq.StepsMhz.Count > 0 && CpuFreq.StepsMhz.Zip(CpuFreq.StepsMhz.Skip(1)).Any(p => p.First <= p.Second))
        {
            Fail($"cpu_freq.steps_mhz must be strictly decreasing: {string.Join(", ", CpuFreq.StepsMhz)}");
        }
        if (Throttle is not null && Throttle.Kind != "raspberry-pi-firmware")
        {
            Fail($"throttle.kind must be raspberry-pi-firmware, not '{Throttle.Kind}'");
        }
        if (PowerRails is not null && PowerRails.Kind is not ("hwmon-ina3221" or "iio-ina3221x"))
        {
            Fail($"power_rails.kind must be hwmon-ina3221 or iio-ina3221x, not '{PowerRails.Kind}'");
        }
        if (Fan is not null)
        {
            if (Fan.Steps.Count == 0 || Fan.Steps.Zip(Fan.Steps.Skip(1)).Any(p => p.First.Celsius >= p.Second.Celsius || p.First.Level >= p.Second.Level))
            {
                Fail("fan.steps must be non-empty with increasing celsius and level");
            }
            if (Fan.HysteresisCelsius < 0)
            {
                Fail($"fan.hysteresis_celsius must be zero or more, not {Fan.HysteresisCelsius}");
            }
        }
        foreach (var chip in I2c)
        {
            if (chip.Chip is not ("ina219" or "ina236" or "mcp9808" or "lm75" or "pijuice"))
            {
                Fail($"i2c chip '{chip.Chip}' is not supported (ina219, ina236, mcp9808, lm75, pijuice)");
            }
            if (!chip.TryParseAddress(out int address) || address is < 0x03 or > 0x77)
            {
                Fail($"i2c chip {chip.Chip}: address '{chip.Address}' must be a 7-bit address such as \"0x40\"");
            }
            if (chip.Chip is "ina219" or "ina236" && (chip.ShuntOhms is not > 0 || chip.MaxCurrentAmperes is not > 0))
            {
                Fail($"i2c chip {chip.Chip} at {chip.Address}: shunt_ohms and max_current_amperes must be positive");
            }
        }
        Simulation?.Validate(this, Fail);
        if (Platform == "android" && Android is null)
        {
            Fail("an android board needs an android section");
        }
    }
}

/// <summary>How to recognise the board: substrings of /proc/device-tree/model, and of the Jetson release file.</summary>
public sealed record BoardDetection
{
    public IReadOnlyList<string> ModelContains { get; init; } = [];
    public IReadOnlyList<string> JetsonReleaseContains { get; init; } = [];
    /// <summary>Files whose presence identifies the platform (for example /system/build.prop on Android).</summary>
    public IReadOnlyList<string> FilesExist { get; init; } = [];
}

public sealed record ThermalDescriptor
{
    public IReadOnlyList<string> ZoneGlobs { get; init; } = ["/sys/class/thermal/thermal_zone*"];
    /// <summary>The zone type that stands for the CPU (cpu-thermal on a Pi, CPU-therm on a Jetson).</summary>
    public string? CpuZoneType { get; init; }
    public ThermalThresholds Thresholds { get; init; } = new(60, 70, 80, 2);
    public IReadOnlyList<TripPoint> TripPoints { get; init; } = [];
}

/// <summary>A temperature where the firmware or kernel acts, and what it does.</summary>
public sealed record TripPoint(double Celsius, string Action);

public sealed record CpuFreqDescriptor
{
    public IReadOnlyList<string> PolicyGlobs { get; init; } = ["/sys/devices/system/cpu/cpufreq/policy*"];
    /// <summary>The frequencies the firmware steps through when it throttles, highest first.</summary>
    public IReadOnlyList<double> StepsMhz { get; init; } = [];
    public int Cores { get; init; } = 4;
}

public sealed record ThrottleDescriptor
{
    public string Kind { get; init; } = "raspberry-pi-firmware";
    /// <summary>Candidate paths of the firmware's get_throttled node, first existing wins ('*' allowed).</summary>
    public IReadOnlyList<string> SysfsPaths { get; init; } = [];
    /// <summary>Fall back to running `vcgencmd get_throttled` when no node exists.</summary>
    public bool Vcgencmd { get; init; } = true;
}

public sealed record PowerSupplyDescriptor
{
    public IReadOnlyList<string> Globs { get; init; } = ["/sys/class/power_supply/*"];
}

public sealed record PowerRailsDescriptor
{
    /// <summary>hwmon-ina3221 (JetPack 5+: in*_label, in*_input mV, curr*_input mA) or iio-ina3221x (JetPack 4: rail_name_*, in_*_input).</summary>
    public string Kind { get; init; } = "hwmon-ina3221";
    public IReadOnlyList<string> Globs { get; init; } = [];
}

public sealed record PowerModesDescriptor
{
    /// <summary>File that nvpmodel keeps its current mode in ("pmode:0001 ...").</summary>
    public string StatusPath { get; init; } = "/var/lib/nvpmodel/status";
    public bool NvpmodelCommand { get; init; } = true;
    public IReadOnlyList<PowerMode> Modes { get; init; } = [];
}

public sealed record PowerMode(int Id, string Name, double? BudgetWatts, int? OnlineCores, double? CpuMaxMhz);

public sealed record FanDescriptor
{
    /// <summary>BCM GPIO number of the fan switch (null when the fan is driven by the kernel's cooling device only).</summary>
    public int? Pin { get; init; }
    public bool ActiveHigh { get; init; } = true;
    /// <summary>Levels switched on at each temperature (Raspberry Pi 5: 50, 60, 67.5, 75 °C).</summary>
    public IReadOnlyList<FanStep> Steps { get; init; } = [];
    public double HysteresisCelsius { get; init; } = 5;
}

public sealed record FanStep(double Celsius, int Level);

public sealed record PinsDescriptor
{
    /// <summary>One LED per variant tier, most accurate tier first (BCM GPIO numbers).</summary>
    public IReadOnlyList<int> StatusLeds { get; init; } = [];
    public InputPin? LowBattery { get; init; }
}

public sealed record InputPin(int Pin, bool ActiveLow);

public sealed record I2cChipDescriptor
{
    public required string Chip { get; init; }
    public required string Name { get; init; }
    public int Bus { get; init; } = 1;
    public required string Address { get; init; }
    public double? ShuntOhms { get; init; }
    public double? MaxCurrentAmperes { get; init; }

    public bool TryParseAddress(out int address)
    {
        string text = Address.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? Address[2..] : Address;
        return int.TryParse(text, Address.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? NumberStyles.HexNumber : NumberStyles.None,
            CultureInfo.InvariantCulture, out address);
    }

    public int ParsedAddress => TryParseAddress(out int address) ? address : throw new BoardDescriptorException($"i2c address '{Address}' is not a number");
}

public sealed record AndroidDescriptor
{
    public string HeadroomApi { get; init; } = "PowerManager.getThermalHeadroom(forecastSeconds)";
    public string StatusApi { get; init; } = "PowerManager.getCurrentThermalStatus()";
    public double MinPollSeconds { get; init; } = 1;
    public IReadOnlyList<string> StatusLevels { get; init; } = [];
    public string Battery { get; init; } = "BatteryManager";
}
