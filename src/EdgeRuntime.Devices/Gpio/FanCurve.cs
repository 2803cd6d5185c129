using EdgeRuntime.Devices.Boards;

namespace EdgeRuntime.Devices.Gpio;

/// <summary>
/// Fan level from temperature, in steps with hysteresis: a level switches on as soon as its temperature is
/// reached, and off only once the temperature is a hysteresis band below it (Raspberry Pi 5: 50 / 60 / 67.5 /
/// 75 °C, 5 °C), so the fan does not chatter at a threshold.
/// </summary>
public sealed class FanCurve
{
    private readonly IReadOnlyList<FanStep> _steps;

    public FanCurve(IReadOnlyList<FanStep> steps, double hysteresisCelsius)
    {
        if (steps.Count == 0 || steps.Zip(steps.Skip(1)).Any(p => p.First.Celsius >= p.Second.Celsius || p.First.Level >= p.Second.Level))
        {
            throw new ArgumentException("fan steps must be non-empty with increasing temperature and level", nameof(steps));
        }
        if (hysteresisCelsius < 0 || double.IsNaN(hysteresisCelsius))
        {
            throw new ArgumentOutOfRangeException(nameof(hysteresisCelsius), hysteresisCelsius, "fan hysteresis must be zero or more");
        }
        _steps = steps;
        HysteresisCelsius = hysteresisCelsius;
    }

    public static FanCurve RaspberryPi5 { get; } = new([new(50, 1), new(60, 2), new(67.5, 3), new(75, 4)], 5);

    public double HysteresisCelsius { get; }

    public int MaxLevel => _steps[^1].Level;

    /// <summary>The level for <paramref name="celsius"/> given the level the fan is at now.</summary>
    public int Next(double celsius, int current)
    {
        int rising = 0;
        foreach (var step in _steps)
        {
            if (celsius >= step.Celsius)
            {
                rising = step.Level;
            }
        }
        if (rising >= current)
        {
            return rising;
        }
        // Step down one level at a time, each only once below its own threshold minus the hysteresis.
        int index = _steps.Count - 1;
        while (index >= 0 && _steps[index].Level > current)
        {
            index--;
        }
        while (index >= 0 && celsius < _steps[index].Celsius - HysteresisCelsius)
        {
            index--;
        }
        return index < 0 ? 0 : _steps[index].Level;
    }
}
