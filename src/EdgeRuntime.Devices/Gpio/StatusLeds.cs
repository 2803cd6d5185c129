using System.Device.Gpio;

namespace EdgeRuntime.Devices.Gpio;

/// <summary>
/// One LED per variant tier (most accurate first); the serving tier's LED is lit, the others are off. Tiers
/// beyond the last LED light the last one.
/// </summary>
public sealed class StatusLeds : IVariantTierIndicator
{
    private readonly GpioController _controller;
    private readonly IReadOnlyList<int> _pins;

    public StatusLeds(GpioController controller, IReadOnlyList<int> pins)
    {
        if (pins.Count == 0)
        {
            throw new ArgumentException("status LEDs need at least one pin", nameof(pins));
        }
        _controller = controller;
        _pins = pins;
        foreach (int pin in pins)
        {
            if (!controller.IsPinOpen(pin))
            {
                controller.OpenPin(pin, PinMode.Output);
            }
            controller.Write(pin, PinValue.Low);
        }
    }

    public int? Tier { get; private set; }

    public void ShowTier(int tier)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tier);
        int lit = Math.Min(tier, _pins.Count - 1);
        for (int i = 0; i < _pins.Count; i++)
        {
            _controller.Write(_pins[i], i == lit ? PinValue.High : PinValue.Low);
        }
        Tier = tier;
    }
}
