using System.Device.Gpio;
using EdgeRuntime.Devices.Boards;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Devices.Gpio;

/// <summary>
/// Drives a fan's switch pin from temperature through a <see cref="FanCurve"/>. The pin is on at any level above
/// zero (a PWM fan would take <see cref="Level"/> as its duty step). With no trustworthy temperature the fan runs
/// at its top level: cooling blind is safer than not cooling.
/// </summary>
public sealed class FanController : IDisposable
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly bool _activeHigh;
    private readonly ILogger _logger;

    public FanController(GpioController controller, int pin, bool activeHigh, FanCurve curve, ILogger<FanController>? logger = null)
    {
        _controller = controller;
        _pin = pin;
        _activeHigh = activeHigh;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        Curve = curve;
        if (!_controller.IsPinOpen(pin))
        {
            _controller.OpenPin(pin, PinMode.Output);
        }
        else
        {
            _controller.SetPinMode(pin, PinMode.Output);
        }
        Apply(0);
    }

    public static FanController FromDescriptor(GpioController controller, FanDescriptor fan, ILogger<FanController>? logger = null) =>
        new(controller, fan.Pin ?? throw new BoardDescriptorException("the fan descriptor has no pin"), fan.ActiveHigh,
            new FanCurve(fan.Steps, fan.HysteresisCelsius), logger);

    public FanCurve Curve { get; }

    public int Level { get; private set; }

    /// <summary>How many times the level changed (each change wrote the pin).</summary>
    public int Changes { get; private set; }

    public void Update(Reading<double> celsius)
    {
        int next = celsius.TryGetValue(out double value) ? Curve.Next(value, Level) : Curve.MaxLevel;
        if (next != Level)
        {
            _logger.LogInformation("fan level {From} -> {To} at {Celsius}", Level, next, celsius);
            Changes++;
            Apply(next);
        }
    }

    public void Update(double celsius) => Update(Reading<double>.Ok(celsius));

    private void Apply(int level)
    {
        Level = level;
        bool on = level > 0;
        _controller.Write(_pin, on == _activeHigh ? PinValue.High : PinValue.Low);
    }

    public void Dispose()
    {
        // Leave the fan running when we stop: the board may still be hot.
        if (_controller.IsPinOpen(_pin))
        {
            _controller.Write(_pin, _activeHigh ? PinValue.High : PinValue.Low);
        }
    }
}
