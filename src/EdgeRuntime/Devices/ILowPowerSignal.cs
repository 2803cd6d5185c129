namespace EdgeRuntime.Devices;

/// <summary>A low-battery / power-good line: its current state, and an event when it changes.</summary>
public interface ILowPowerSignal
{
    /// <summary>True while the supply reports low battery or power not good.</summary>
    bool IsLow { get; }

    /// <summary>Raised with the new value of <see cref="IsLow"/> when it changes.</summary>
    event EventHandler<bool>? Changed;
}
