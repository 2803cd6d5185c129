using EdgeRuntime.Devices;

namespace EdgeRuntime.Governance;

/// <summary>
/// How long the battery lasts at the draw measured now. Fuel gauges report the charge in whole percent and the draw in
/// watts; the share of the charge one joule takes is learned from the draw integrated between the first and the latest
/// drop of the percentage, so no capacity figure is needed. Before two drops there is no projection. Everything resets
/// when external power returns, and history is all it uses: nothing about when the power will come back.
/// </summary>
internal sealed class BatteryBudget
{
    /// <summary>Window the draw of the serving variant is averaged over: readings follow the load's bursts.</summary>
    public static readonly TimeSpan DrawWindow = TimeSpan.FromSeconds(30);

    private readonly Queue<(DateTimeOffset At, double Watts, int Variant)> _draws = new();
    private DateTimeOffset? _lastAt;
    private double _lastWatts;
    private double _joules;
    private double? _lastPercent;
    private (double Joules, double Percent)? _firstDrop;
    private double? _percentPerJoule;

    /// <summary>The charge left, the mean draw of the variant serving, and what a joule costs in percent.</summary>
    public readonly record struct Projection(double Percent, double Watts, double PercentPerJoule)
    {
        /// <summary>Seconds until empty at <paramref name="scale"/> times the measured draw.</summary>
        public double SecondsAt(double scale) => Percent / (PercentPerJoule * Watts * scale);
    }

    /// <param name="variant">The variant that served since the last reading.</param>
    public Projection? Update(DeviceSnapshot? device, int variant, DateTimeOffset now)
    {
        if (device?.Battery is not { } battery
            || !device.ExternalPower.TryGetValue(out bool external) || external
            || !battery.CapacityPercent.TryGetValue(out double percent) || !double.IsFinite(percent)
            || Draw(battery) is not double watts)
        {
            Reset();
            return null;
        }
        if (_lastAt is DateTimeOffset last)
        {
            _joules += (_lastWatts + watts) / 2 * (now - last).TotalSeconds;
        }
        _lastAt = now;
        _lastWatts = watts;
        if (_lastPercent is double previous && percent < previous)
        {
            if (_firstDrop is { } first)
            {
                _percentPerJoule = _joules > first.Joules ? (first.Percent - percent) / (_joules - first.Joules) : _percentPerJoule;
            }
            else
            {
                _firstDrop = (_joules, percent);
            }
        }
        _lastPercent = percent;
        _draws.Enqueue((now, watts, variant));
        while (now - _draws.Peek().At > DrawWindow)
        {
            _draws.Dequeue();
        }
        if (_percentPerJoule is not double perJoule || perJoule <= 0)
        {
            return null;
        }
        var serving = _draws.Where(d => d.Variant == variant).Select(d => d.Watts).DefaultIfEmpty(watts).Average();
        return serving > 0 ? new Projection(percent, serving, perJoule) : null;
    }

    /// <summary>The battery's draw in watts: its power reading, or volts times amperes; null when neither reads.</summary>
    private static double? Draw(PowerSupplyReading battery)
    {
        if (battery.Watts.TryGetValue(out double watts) && double.IsFinite(watts) && watts != 0)
        {
            return Math.Abs(watts);
        }
        return battery.Volts.TryGetValue(out double volts) && battery.Amperes.TryGetValue(out double amperes) && double.IsFinite(volts * amperes) && volts * amperes != 0
            ? Math.Abs(volts * amperes)
            : null;
    }

    private void Reset()
    {
        _draws.Clear();
        _lastAt = null;
        _joules = 0;
        _lastPercent = null;
        _firstDrop = null;
        _percentPerJoule = null;
    }
}
