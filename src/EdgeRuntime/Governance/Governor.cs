using EdgeRuntime.Devices;

namespace EdgeRuntime.Governance;

/// <summary>
/// Picks the variant to serve from what the device measures: the most accurate one whose predicted p95
/// latency fits the SLO at the current clock and load, whose predicted steady temperature stays below the
/// throttle point, and whose energy per inference fits the battery tier. It steps down at once when a
/// limit is at risk and up only after a dwell time and with margin. Deterministic: time comes from the
/// caller's <see cref="TimeProvider"/>, and the same inputs give the same decisions.
/// </summary>
public sealed class Governor
{
    private readonly IReadOnlyList<VariantOption> _variants;
    private readonly ProfileStore _profiles;
    private readonly TimeProvider _time;
    private int _current;
    private DateTimeOffset _lastSwitch;
    private readonly Queue<(DateTimeOffset At, double Celsius, int Serving)> _readings = new();
    private double _trend;
    private bool _started;
    private readonly Queue<(DateTimeOffset At, double Rate)> _tickRates = new();
    private readonly Queue<(DateTimeOffset At, double Rate)> _smoothedRates = new();
    private double _dwellBackoff;
    private DateTimeOffset _lastUp = DateTimeOffset.MinValue;
    private DateTimeOffset _lastReversal = DateTimeOffset.MinValue;
    private bool _batterySeen;
    private double? _lastBatteryPercent;
    private BatteryCap _battery;
    private readonly BatteryBudget _budget = new();
    private BatteryBudget.Projection? _projection;

    /// <summary>The energy cap of this tick: a tier from a good reading, the held tier while the reading is unknown, or none.</summary>
    private readonly record struct BatteryCap(double? Ratio, string Why, bool Unknown);

    /// <summary>Window over which tick rates are averaged before the peak is kept: shorter is noise, longer hides bursts.</summary>
    public static readonly TimeSpan RateSmoothing = TimeSpan.FromSeconds(2);

    /// <param name="variants">The variants that can serve, most accurate first; equally accurate ones keep the order given.</param>
    public Governor(IReadOnlyList<VariantOption> variants, ProfileStore profiles, TimeProvider time, string? initial = null)
    {
        if (variants.Count == 0)
        {
            throw new ArgumentException("the governor needs at least one variant");
        }
        _variants = [.. variants.OrderByDescending(v => v.Quality)];
        _profiles = profiles;
        _time = time;
        _current = initial is null ? 0 : IndexOf(initial);
        _lastSwitch = time.GetUtcNow();
    }

    public string Current => _variants[_current].Id;
    public IReadOnlyList<VariantOption> Variants => _variants;
    /// <summary>Window the temperature trend is fitted over; long enough that sensor noise does not look like heating.</summary>
    public static readonly TimeSpan TrendWindow = TimeSpan.FromSeconds(20);

    /// <summary>Temperature trend in °C per second: least-squares slope over <see cref="TrendWindow"/>.</summary>
    public double TrendCelsiusPerSecond => _trend;

    /// <summary>Tells the governor a switch happened elsewhere (an operator, a reload).</summary>
    public void Follow(string variant)
    {
        int index = IndexOf(variant);
        if (index != _current)
        {
            _current = index;
            _lastSwitch = _time.GetUtcNow();
        }
    }

    public GovernorDecision Decide(GovernorInput input)
    {
        var now = _time.GetUtcNow();
        var profile = _profiles.Current;
        var policy = profile.Policy;
        var thermal = profile.Thermal;
        string previous = Current;

        double? celsius = null;
        bool sensorsUnknown = false;
        if (input.Device is { } device)
        {
            if (device.HottestCelsius.TryGetValue(out double t))
            {
                celsius = t;
                UpdateTrend(t, now);
            }
            else
            {
                sensorsUnknown = true;
            }
        }
        _battery = Battery(input.Device, policy);
        _projection = _budget.Update(input.Device, _current, now);
        double frequencyFactor = FrequencyFactor(input.Device);
        double? slo = input.Hints.SloP95Ms ?? policy.SloP95Ms ?? DefaultSlo();
        double rate = PlanningRate(Math.Max(0, input.ArrivalRatePerSecond), now, policy);

        // Steady-state temperature now: a first-order system heading for T + τ·dT/dt.
        // The trend was measured on the variants that served over its window, not necessarily the current one (a switch
        // a few seconds ago): each variant's steady state is shifted from the utilisation they had.
        double currentUtilisation = _readings.Count > 0
            ? _readings.Average(r => Utilisation(r.Serving, rate, frequencyFactor, input))
            : Utilisation(_current, rate, frequencyFactor, input);
        double? steadyNow = celsius is double c ? c + Math.Max(0, _trend) * thermal.TimeConstantSeconds : null;
        double limit = thermal.ThrottleCelsius - policy.ThermalMarginCelsius;

        var evaluations = new Evaluation[_variants.Count];
        for (int i = 0; i < _variants.Count; i++)
        {
            evaluations[i] = Evaluate(i, input, profile, rate, frequencyFactor, slo, steadyNow, currentUtilisation, limit);
        }

        var (target, reason, detail) = Choose(evaluations, input, now, celsius, sensorsUnknown, policy, slo);
        if (!_started)
        {
            _started = true;
            reason = target == _current && reason == DecisionReason.Steady ? DecisionReason.Initial : reason;
        }
        if (target != _current)
        {
            UpdateDwell(target < _current, now, policy);
            _current = target;
            _lastSwitch = now;
        }
        var chosen = evaluations[target];
        return new GovernorDecision(now, Current, previous, reason, detail)
        {
            TemperatureCelsius = celsius,
            PredictedCelsius = chosen.SteadyCelsius,
            PredictedP95Ms = double.IsFinite(chosen.PredictedP95Ms) ? chosen.PredictedP95Ms : null,
            SloP95Ms = slo,
        };
    }

    private (int Target, DecisionReason Reason, string Detail) Choose(
        Evaluation[] evaluations, GovernorInput input, DateTimeOffset now, double? celsius, bool sensorsUnknown, GovernorPolicy policy, double? slo)
    {
        int lightest = _variants.Count - 1;
        var device = input.Device;
        if (device is not null && device.ThermalState == ThermalState.Critical)
        {
            return (lightest, DecisionReason.ThermalCritical, $"critical thermal state{At(celsius)}");
        }
        bool throttled = device is not null && device.Throttle.TryGetValue(out var flags) && IsThrottlingNow(flags);
        if (device is not null && (device.ThermalState == ThermalState.Serious || throttled))
        {
            string why = throttled ? "the board reports throttling" : $"serious thermal state{At(celsius)}";
            if (!throttled && TrendEstablished && evaluations[_current].Fits)
            {
                // Serious is a warning, not throttling: a variant whose measured trend forecasts it below the limit keeps
                // serving (stepping down would give up quality for nothing), but nothing heavier is tried until it passes.
                return (_current, DecisionReason.ThermalSerious,
                    why + $"; {_variants[_current].Id} forecast {evaluations[_current].SteadyCelsius:F1} °C within the limit: it stays, no move up");
            }
            // Step to the most accurate variant that is cheaper than the current one, if there is one.
            int lighter = Enumerable.Range(0, _variants.Count)
                .Where(i => evaluations[i].ServiceMs < evaluations[_current].ServiceMs)
                .DefaultIfEmpty(-1).First();
            return lighter < 0
                ? (_current, DecisionReason.ThermalSerious, why + $"; no variant is lighter than {_variants[_current].Id}")
                : (lighter, DecisionReason.ThermalSerious, why + $"; {_variants[_current].Id}: {evaluations[_current].Explanation}; stepping down to {_variants[lighter].Id}");
        }

        // Lighter variants win under background priority: the one that fits with the least energy.
        var floor = input.Hints.QualityFloor;
        var allowed = Enumerable.Range(0, _variants.Count).Where(i => evaluations[i].Fits).ToList();
        var aboveFloor = allowed.Where(i => floor is null || _variants[i].Quality >= floor).ToList();
        int best;
        DecisionReason reasonIfMoving;
        if (aboveFloor.Count > 0)
        {
            best = input.Hints.Priority == RequestPriority.Background ? aboveFloor.MinBy(i => evaluations[i].ServiceMs) : aboveFloor[0];
            reasonIfMoving = DecisionReason.Headroom;
        }
        else if (allowed.Count > 0 && floor is not null)
        {
            // The floor cannot be met within the limits: the limits win, and the reason says so.
            best = allowed[0];
            reasonIfMoving = DecisionReason.QualityFloor;
        }
        else
        {
            // Nothing fits: the cheapest variant does the least harm.
            best = Enumerable.Range(0, _variants.Count).MinBy(i => evaluations[i].ServiceMs);
            reasonIfMoving = DecisionReason.NoVariantFits;
        }

        var current = evaluations[_current];
        if (best != _current && evaluations[best].ServiceMs >= current.ServiceMs && !current.Fits && reasonIfMoving == DecisionReason.NoVariantFits)
        {
            return (_current, DecisionReason.NoVariantFits, $"{_variants[_current].Id}: {current.Explanation}; no cheaper variant");
        }
        if (best > _current)
        {
            // Down: at once, named by what the current variant breaks.
            var why = current.Failure ?? reasonIfMoving;
            return (best, why, $"{_variants[_current].Id}: {current.Explanation}; {_variants[best].Id} fits");
        }
        if (best < _current)
        {
            if (sensorsUnknown)
            {
                return (_current, DecisionReason.SensorsUnknown, "temperature unknown or stale: not moving to a heavier variant");
            }
            if (_battery.Unknown)
            {
                // Unknown is never "plenty": no heavier variant until the capacity reads again.
                return (_current, DecisionReason.SensorsUnknown, $"{_battery.Why}: not moving to a heavier variant");
            }
            double dwell = (now - _lastSwitch).TotalSeconds;
            double needed = EffectiveDwellSeconds(policy, now);
            if (dwell < needed)
            {
                return (_current, DecisionReason.DwellHold, $"{_variants[best].Id} would fit; {dwell:F1} s of {needed:F0} s dwell passed");
            }
            // Move up one step at a time, so each step is measured before the next.
            int up = _current - 1;
            while (up > best && !evaluations[up].Fits)
            {
                up--;
            }
            return (up, reasonIfMoving == DecisionReason.Headroom ? DecisionReason.Headroom : reasonIfMoving,
                $"{_variants[up].Id} predicted p95 {evaluations[up].PredictedP95Ms:F2} ms (SLO {slo:F2}), steady {evaluations[up].SteadyCelsius:F1} °C");
        }
        if (_battery.Unknown && current.Fits)
        {
            // Holding is right, but "Steady" would hide that the battery reading is gone.
            return (_current, DecisionReason.SensorsUnknown, $"{_battery.Why}: {_variants[_current].Id} stays");
        }
        return (_current, current.Fits ? DecisionReason.Steady : reasonIfMoving, current.Fits ? "within every limit" : current.Explanation);
    }

    private Evaluation Evaluate(int index, GovernorInput input, GovernorProfile profile, double rate, double frequencyFactor,
        double? slo, double? steadyNow, double currentUtilisation, double limit)
    {
        var policy = profile.Policy;
        bool heavier = index < _current;
        var (p50, p95) = ServiceTimes(index, input, frequencyFactor);
        return EvaluateWith(index, input, profile, rate, slo, steadyNow, currentUtilisation, limit, heavier, p50, p95) with { ServiceMs = p50 };
    }

    private Evaluation EvaluateWith(int index, GovernorInput input, GovernorProfile profile, double rate, double? slo, double? steadyNow,
        double currentUtilisation, double limit, bool heavier, double p50, double p95)
    {
        var policy = profile.Policy;
        double frequencyFactor = FrequencyFactor(input.Device);
        double utilisation = rate * p50 / 1000.0;
        double predictedP95 = ResponseP95(p50, p95, utilisation);

        // A variant the runtime measured over the SLO, right now, breaks it whatever the prediction says.
        if (index == _current && slo is double measuredSlo
            && input.Observed.TryGetValue(_variants[index].Id, out var observed) && observed.WindowCount >= 20 && observed.P95Ms > measuredSlo)
        {
            return new Evaluation(false, DecisionReason.SloBreach, $"measured p95 {observed.P95Ms:F2} ms > SLO {measuredSlo:F2} ms", observed.P95Ms, steadyNow);
        }
        if (utilisation > policy.MaxUtilisation)
        {
            return new Evaluation(false, DecisionReason.SloRisk, $"would be {utilisation:P0} busy at {rate:F1} req/s", predictedP95, null);
        }
        if (slo is double target && predictedP95 > target * (heavier ? policy.UpLatencyMargin : 1))
        {
            return new Evaluation(false, DecisionReason.SloRisk, $"predicted p95 {predictedP95:F2} ms vs SLO {target:F2} ms", predictedP95, null);
        }
        // Where the temperature would be at the horizon on this variant: a first-order approach from the
        // current temperature to the variant's steady state. Looking at the horizon rather than the steady
        // state lets a heavier variant borrow thermal headroom while the board is cool.
        double? steady = steadyNow is double now ? now + profile.Thermal.RiseAtFullLoadCelsius * (utilisation - currentUtilisation) : null;
        double? atHorizon = steady is double settle && _readings.Count > 0
            ? settle + (_readings.Last().Celsius - settle) * Math.Exp(-profile.Thermal.PredictionHorizonSeconds / profile.Thermal.TimeConstantSeconds)
            : steady;
        if (atHorizon is double h && h > limit - (heavier ? policy.HysteresisCelsius : 0))
        {
            return new Evaluation(false, DecisionReason.ThermalPredicted,
                $"would reach {h:F1} °C within {profile.Thermal.PredictionHorizonSeconds:F0} s, settling at {steady:F1} °C (limit {limit:F1} °C)", predictedP95, atHorizon);
        }
        if (_battery.Ratio is double ratio && EnergyRatio(index, input, frequencyFactor) > ratio)
        {
            return new Evaluation(false, DecisionReason.BatteryTier, $"{_battery.Why}: energy per inference capped at {ratio:P0} of the reference", predictedP95, steady);
        }
        if (policy.BatteryHorizonSeconds is double horizon && _projection is { } projection && !IsMostFrugal(index, input, frequencyFactor))
        {
            // The current variant's draw is measured; another's is scaled by its energy per inference, as if all the draw
            // were the CPU's: generous to lighter variants (tried, then measured) and strict with heavier ones.
            double scale = index == _current ? 1 : EnergyRatio(index, input, frequencyFactor) / EnergyRatio(_current, input, frequencyFactor);
            double lasts = projection.SecondsAt(scale);
            if (lasts < horizon)
            {
                return new Evaluation(false, DecisionReason.BatteryBudget,
                    $"battery at {projection.Percent:F0}% drawing {projection.Watts * scale:F2} W lasts {lasts / 60:F0} min, under the {horizon / 60:F0}-min horizon",
                    predictedP95, steady);
            }
        }
        return new Evaluation(true, null, "within every limit", predictedP95, atHorizon);
    }

    /// <summary>Service time p50/p95 in ms at the current clock: profile, then measurements.</summary>
    private (double P50, double P95) ServiceTimes(int index, GovernorInput input, double frequencyFactor)
    {
        var option = _variants[index];
        var cost = _profiles.Current.Variants.GetValueOrDefault(option.Id) ?? option.Cost;
        if (cost is not null)
        {
            return (cost.LatencyP50Ms * frequencyFactor, cost.LatencyP95Ms * frequencyFactor);
        }
        if (input.Observed.TryGetValue(option.Id, out var observed) && observed.WindowCount > 0)
        {
            return (observed.P50Ms, observed.P95Ms);
        }
        // Unknown cost: assume it is as slow as the slowest known one, so it is never chosen on hope.
        double slowest = _variants.Select(v => (_profiles.Current.Variants.GetValueOrDefault(v.Id) ?? v.Cost)?.LatencyP95Ms ?? 0).DefaultIfEmpty(0).Max();
        return slowest > 0 ? (slowest * frequencyFactor, slowest * frequencyFactor) : (double.PositiveInfinity, double.PositiveInfinity);
    }

    private double Utilisation(int index, double rate, double frequencyFactor, GovernorInput input) =>
        rate * ServiceTimes(index, input, frequencyFactor).P50 / 1000.0;

    /// <summary>
    /// p95 response time with queueing: service p95 plus the 95th-percentile wait of an M/G/1 queue, whose
    /// mean wait is Pollaczek-Khinchine's u(1+cv²)s/(2(1-u)) with the service-time spread read from p50/p95
    /// (lognormal), and whose tail is taken as exponential, as in M/M/1.
    /// </summary>
    public static double ResponseP95(double medianMs, double p95Ms, double utilisation)
    {
        if (!double.IsFinite(medianMs) || utilisation >= 1)
        {
            return double.PositiveInfinity;
        }
        if (utilisation <= 0.05)
        {
            return p95Ms;
        }
        double sigma = p95Ms > medianMs ? Math.Log(p95Ms / medianMs) / 1.645 : 0;
        double squaredCv = Math.Exp(sigma * sigma) - 1;
        double meanMs = medianMs * Math.Exp(sigma * sigma / 2);
        double meanWait = utilisation * (1 + squaredCv) * meanMs / (2 * (1 - utilisation));
        double wait95 = meanWait / utilisation * Math.Log(utilisation / 0.05);
        return p95Ms + wait95;
    }

    private double EnergyRatio(int index, GovernorInput input, double frequencyFactor)
    {
        double Energy(int i)
        {
            var cost = _profiles.Current.Variants.GetValueOrDefault(_variants[i].Id) ?? _variants[i].Cost;
            if (cost?.EnergyMillijoules is double measured)
            {
                return measured;
            }
            var (p50, _) = ServiceTimes(i, input, frequencyFactor);
            return p50 * (cost?.BusyPowerWatts ?? 1);
        }
        double reference = Energy(0);
        return reference > 0 && double.IsFinite(reference) ? Energy(index) / reference : 1;
    }

    /// <summary>
    /// The battery's energy cap. A readable capacity picks its tier. A battery that was seen (or is present) but whose
    /// capacity cannot be read now (garbage, missing file, gone) is unknown: the tier of the last good reading holds,
    /// or the most conservative tier when there never was one, and <see cref="Choose"/> refuses moves up meanwhile.
    /// </summary>
    private BatteryCap Battery(DeviceSnapshot? device, GovernorPolicy policy)
    {
        if (device is null)
        {
            return default;
        }
        var battery = device.Battery;
        _batterySeen |= battery is not null;
        if (device.ExternalPower.TryGetValue(out bool external) && external)
        {
            return default;
        }
        if (battery is not null && battery.CapacityPercent.TryGetValue(out double percent) && double.IsFinite(percent))
        {
            _lastBatteryPercent = percent;
            return new BatteryCap(TierRatio(percent, policy), $"battery at {percent:F0}%", false);
        }
        if (!_batterySeen)
        {
            return default;
        }
        string reason = battery is null ? "the battery is no longer reported" : $"battery capacity unreadable ({battery.CapacityPercent.Reason})";
        if (_lastBatteryPercent is double held)
        {
            return new BatteryCap(TierRatio(held, policy), $"{reason}; holding the tier of the last reading, {held:F0}%", true);
        }
        double? strictest = policy.BatteryTiers.Count == 0 ? null : policy.BatteryTiers.Min(t => t.MaxEnergyRatio);
        return new BatteryCap(strictest, $"{reason}; no earlier reading, so the most conservative tier", true);
    }

    private static double? TierRatio(double percent, GovernorPolicy policy)
    {
        foreach (var tier in policy.BatteryTiers)
        {
            if (percent < tier.BelowPercent)
            {
                return tier.MaxEnergyRatio;
            }
        }
        return null;
    }

    /// <summary>The variant that spends the least energy per inference: the one served when no variant lasts the battery horizon.</summary>
    private bool IsMostFrugal(int index, GovernorInput input, double frequencyFactor)
    {
        double mine = EnergyRatio(index, input, frequencyFactor);
        return Enumerable.Range(0, _variants.Count).All(i => EnergyRatio(i, input, frequencyFactor) >= mine);
    }

    /// <summary>The readings span at least half the trend window: the trend measures the board, not the first readings.</summary>
    private bool TrendEstablished => _readings.Count >= 3 && (_readings.Last().At - _readings.Peek().At) >= TrendWindow / 2;

    private static string At(double? celsius) => celsius is double c ? $" at {c:F1} °C" : " (temperature unreadable)";

    private static double FrequencyFactor(DeviceSnapshot? device)
    {
        if (device is null || !device.CpuMhz.TryGetValue(out double current) || current <= 0)
        {
            return 1;
        }
        double max = device.CpuPolicies
            .Select(p => p.HardwareMaxMhz.TryGetValue(out double h) ? h : p.MaxMhz.TryGetValue(out double m) ? m : 0)
            .DefaultIfEmpty(0).Max();
        // A clock the kernel lowered because the cores were idle for a moment rises as soon as work arrives, so predicting
        // at it would make every heavier variant look too slow on a lightly loaded board. Predict at the highest clock
        // allowed now (scaling_max_freq), and at the current clock only while the board reports throttling or a cap.
        bool capped = device.Throttle.TryGetValue(out var flags) && IsThrottlingNow(flags);
        double reachable = capped ? current : device.CpuPolicies
            .Select(p => p.MaxMhz.TryGetValue(out double m) ? m : 0)
            .DefaultIfEmpty(0).Max() is > 0 and var allowed ? Math.Max(current, allowed) : current;
        return max > reachable ? max / reachable : 1;
    }

    private static bool IsThrottlingNow(ThrottleFlags flags) =>
        flags.HasFlag(ThrottleFlags.Throttled) || flags.HasFlag(ThrottleFlags.FrequencyCapped);

    private double? DefaultSlo()
    {
        var reference = _profiles.Current.Variants.GetValueOrDefault(_variants[0].Id) ?? _variants[0].Cost;
        return reference is null ? null : 3 * reference.LatencyP95Ms;
    }

    private void UpdateTrend(double celsius, DateTimeOffset now)
    {
        _readings.Enqueue((now, celsius, _current));
        while (_readings.Count > 0 && now - _readings.Peek().At > TrendWindow)
        {
            _readings.Dequeue();
        }
        if (_readings.Count < 3)
        {
            _trend = 0;
            return;
        }
        double meanT = 0, meanC = 0;
        foreach (var (at, c, _) in _readings)
        {
            meanT += (at - now).TotalSeconds;
            meanC += c;
        }
        meanT /= _readings.Count;
        meanC /= _readings.Count;
        double covariance = 0, variance = 0;
        foreach (var (at, c, _) in _readings)
        {
            double dt = (at - now).TotalSeconds - meanT;
            covariance += dt * (c - meanC);
            variance += dt * dt;
        }
        _trend = variance > 0 ? covariance / variance : 0;
    }

    /// <summary>The arrival rate to size for: this tick's, or the recent peak of 2-s means when the profile keeps a memory.</summary>
    private double PlanningRate(double rate, DateTimeOffset now, GovernorPolicy policy)
    {
        if (policy.RateMemorySeconds <= 0)
        {
            return rate;
        }
        _tickRates.Enqueue((now, rate));
        while (_tickRates.Count > 0 && now - _tickRates.Peek().At >= RateSmoothing)
        {
            _tickRates.Dequeue();
        }
        _smoothedRates.Enqueue((now, _tickRates.Average(r => r.Rate)));
        var memory = TimeSpan.FromSeconds(policy.RateMemorySeconds);
        while (_smoothedRates.Count > 0 && now - _smoothedRates.Peek().At > memory)
        {
            _smoothedRates.Dequeue();
        }
        return Math.Max(rate, _smoothedRates.Max(r => r.Rate));
    }

    /// <summary>Seconds since the last switch before a move up: the profile's dwell, doubled for each recent move up that had to be undone.</summary>
    public double EffectiveDwellSeconds(GovernorPolicy policy, DateTimeOffset now)
    {
        if (policy.MaxDwellUpSeconds is not double max)
        {
            return policy.DwellUpSeconds;
        }
        if ((now - _lastReversal).TotalSeconds > max)
        {
            _dwellBackoff = 0;
        }
        return Math.Min(Math.Max(policy.DwellUpSeconds, _dwellBackoff), Math.Max(max, policy.DwellUpSeconds));
    }

    private void UpdateDwell(bool up, DateTimeOffset now, GovernorPolicy policy)
    {
        if (up)
        {
            _lastUp = now;
            return;
        }
        double dwell = EffectiveDwellSeconds(policy, now);
        if (policy.MaxDwellUpSeconds is double max && (now - _lastUp).TotalSeconds < 2 * dwell)
        {
            // The last move up did not hold: wait longer before the next one.
            _dwellBackoff = Math.Min(2 * dwell, max);
            _lastReversal = now;
        }
    }

    private int IndexOf(string variant)
    {
        for (int i = 0; i < _variants.Count; i++)
        {
            if (_variants[i].Id == variant)
            {
                return i;
            }
        }
        throw new KeyNotFoundException($"the governor has no variant '{variant}'; it has {string.Join(", ", _variants.Select(v => v.Id))}");
    }

    private readonly record struct Evaluation(bool Fits, DecisionReason? Failure, string Explanation, double PredictedP95Ms, double? SteadyCelsius)
    {
        /// <summary>Median service time at the current clock: what "lighter" means.</summary>
        public double ServiceMs { get; init; }
    }
}
