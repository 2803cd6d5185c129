using System.Device.Gpio;

namespace EdgeRuntime.Devices.Tests;

/// <summary>A GPIO driver without hardware: records what is written, and lets a test drive inputs and their edges.</summary>
internal sealed class RecordingGpioDriver : GpioDriver
{
    private readonly Dictionary<int, PinMode> _modes = [];
    private readonly Dictionary<int, PinValue> _values = [];
    private readonly Dictionary<int, List<(PinEventTypes Events, PinChangeEventHandler Handler)>> _callbacks = [];

    public List<(int Pin, PinValue Value)> Writes { get; } = [];

    public PinValue ValueOf(int pin) => _values.GetValueOrDefault(pin, PinValue.Low);

    /// <summary>Changes an input as the outside world would, raising the edge callbacks.</summary>
    public void SetInput(int pin, PinValue value)
    {
        var old = ValueOf(pin);
        _values[pin] = value;
        if (old == value)
        {
            return;
        }
        var edge = value == PinValue.High ? PinEventTypes.Rising : PinEventTypes.Falling;
        foreach (var (events, handler) in _callbacks.GetValueOrDefault(pin, []).ToList())
        {
            if (events.HasFlag(edge))
            {
                handler(this, new PinValueChangedEventArgs(edge, pin));
            }
        }
    }

    protected override int PinCount => 40;

    protected override void OpenPin(int pinNumber) => _modes.TryAdd(pinNumber, PinMode.Input);

    protected override void ClosePin(int pinNumber) => _modes.Remove(pinNumber);

    protected override void SetPinMode(int pinNumber, PinMode mode) => _modes[pinNumber] = mode;

    protected override PinMode GetPinMode(int pinNumber) => _modes.GetValueOrDefault(pinNumber, PinMode.Input);

    protected override bool IsPinModeSupported(int pinNumber, PinMode mode) => true;

    protected override PinValue Read(int pinNumber) => ValueOf(pinNumber);

    protected override void Write(int pinNumber, PinValue value)
    {
        _values[pinNumber] = value;
        Writes.Add((pinNumber, value));
    }

    protected override WaitForEventResult WaitForEvent(int pinNumber, PinEventTypes eventTypes, CancellationToken cancellationToken) =>
        new() { TimedOut = true, EventTypes = PinEventTypes.None };

    protected override void AddCallbackForPinValueChangedEvent(int pinNumber, PinEventTypes eventTypes, PinChangeEventHandler callback)
    {
        if (!_callbacks.TryGetValue(pinNumber, out var list))
        {
            _callbacks[pinNumber] = list = [];
        }
        list.Add((eventTypes, callback));
    }

    protected override void RemoveCallbackForPinValueChangedEvent(int pinNumber, PinChangeEventHandler callback) =>
        _callbacks.GetValueOrDefault(pinNumber)?.RemoveAll(c => c.Handler == callback);

    public override GpioChipInfo GetChipInfo() => new(0, "recording", "test driver", PinCount);
}
