using System.Device.Gpio;

namespace EdgeRuntime.Devices.Gpio;

/// <summary>
/// A low-battery or power-good line on a GPIO input. Reads the line at start, then raises
/// <see cref="Changed"/> on each edge that changes the state.
/// </summary>
public sealed class LowPowerInput : ILowPowerSignal, IDisposable
{
    private readonly GpioController _controller;
    private readonly int _pin;
    private readonly bool _activeLow;
    private readonly Lock _gate = new();

    public LowPowerInput(GpioController controller, int pin, bool activeLow)
    {
        _controller = controller;
        _pin = pin;
        _activeLow = activeLow;
        if (!controller.IsPinOpen(pin))
        {
            controller.OpenPin(pin, PinMode.Input);
        }
        IsLow = ToLow(controller.Read(pin));
        controller.RegisterCallbackForPinValueChangedEvent(pin, PinEventTypes.Rising | PinEventTypes.Falling, OnEdge);
    }

    public bool IsLow { get; private set; }

    public event EventHandler<bool>? Changed;

    private bool ToLow(PinValue value) => (value == PinValue.Low) == _activeLow;

    private void OnEdge(object sender, PinValueChangedEventArgs args)
    {
        bool low = ToLow(args.ChangeType == PinEventTypes.Rising ? PinValue.High : PinValue.Low);
        lock (_gate)
        {
            if (low == IsLow)
            {
                return;
            }
            IsLow = low;
        }
        Changed?.Invoke(this, low);
    }

    public void Dispose() => _controller.UnregisterCallbackForPinValueChangedEvent(_pin, OnEdge);
}
