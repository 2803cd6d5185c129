using EdgeRuntime.Devices;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Simulation;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Simulation;

/// <summary>
/// A discrete-event simulation in virtual time: Poisson requests queue for one inference server on a
/// simulated board whose temperature, clock and battery follow its descriptor; the governor reads the
/// board through the real device monitor (over the simulated sysfs tree) and decides as it would on the
/// device. Each static variant runs the same workload for comparison.
/// </summary>
public static class AdaptiveSimulation
{
    public const string AdaptivePolicy = "adaptive";

    public static SimulationReport Run(IReadOnlyList<SimulatedVariant> variants, BoardDescriptor board, GovernorProfile profile,
        SimulationOptions options, string workDirectory, Action<string>? log = null)
    {
        options.Validate();
        if (variants.Count == 0)
        {
            throw new ArgumentException("the simulation needs at least one variant");
        }
        if (board.Simulation is null)
        {
            throw new ArgumentException($"board '{board.Id}' has no simulation parameters");
        }
        if (options.Scenario is { } named && named.Board != board.Id)
        {
            throw new ArgumentException($"scenario '{named.Name}' is for board '{named.Board}', not '{board.Id}'");
        }
        // Most accurate first and, among equally accurate ones, the cheapest first: a heavier variant that measures no
        // better only adds heat and energy. The governor keeps this order among equals.
        var ordered = variants.OrderByDescending(v => v.Quality).ThenBy(v => v.MeasuredP50Ms).ToList();
        double slowdown = options.CostsAreBoardFigures ? 1 : options.BoardSlowdown ?? BoardSpeed.SlowdownFor(board.Id);
        var reference = ordered[0];
        double referenceMs = reference.MeasuredP50Ms * slowdown;
        var timeline = options.Scenario is { } scenario ? new ScenarioTimeline(scenario) : null;
        double duration = options.Scenario?.DurationSeconds ?? options.Duration.TotalSeconds;
        int seed = options.Scenario?.Seed ?? options.Seed;
        double constantRate = options.RatePerSecond ?? options.Load / (referenceMs / 1000);
        // A scenario's load is a share of the reference's time, or of the lightest variant's (load_of "lightest").
        double loadBasisMs = options.Scenario?.LoadOf == LoadBasis.Lightest ? ordered.Min(v => v.MeasuredP50Ms) * slowdown : referenceMs;
        Func<double, double> rateAt = timeline is null ? _ => constantRate : t => timeline.RateAt(t, loadBasisMs / 1000);
        double meanRate = timeline is null ? constantRate : Enumerable.Range(0, (int)Math.Ceiling(duration)).Average(second => rateAt(second + 0.5));
        double slo = options.Scenario?.SloP95Ms ?? options.SloP95Ms ?? SimulationOptions.DefaultSloFactor * referenceMs;
        string scale = options.CostsAreBoardFigures ? "recorded board costs" : $"{slowdown}x this machine";
        log?.Invoke(timeline is null
            ? $"{board.Id}: reference {reference.Id} takes {referenceMs:F3} ms at full clock ({scale}); {constantRate:F0} requests/s; SLO p95 {slo:F3} ms"
            : $"{board.Id}: scenario '{options.Scenario!.Name}' for {Scenario.Format(duration)}, seed {seed}; reference {reference.Id} takes {referenceMs:F3} ms at full clock ({scale}); load is a share of {(loadBasisMs == referenceMs ? "its" : $"the lightest variant's {loadBasisMs:F3} ms")}; mean {meanRate:F0} requests/s; SLO p95 {slo:F3} ms");

        var policies = (options.StaticBaselines ? new[] { AdaptivePolicy }.Concat(ordered.Select(v => v.Id)) : [AdaptivePolicy]).ToList();
        var runs = new PolicyRun[policies.Count];
        var outcomes = new PolicyOutcome[policies.Count];
        // Each policy has its own board, clock and random stream: running them side by side changes no figure.
        Parallel.For(0, policies.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            runs[i] = new PolicyRun(ordered, board, profile, options, slowdown, rateAt, duration, seed, slo, timeline, policies[i], Path.Combine(workDirectory, policies[i]));
            outcomes[i] = runs[i].Execute();
        });
        var traces = new Dictionary<string, IReadOnlyList<TracePoint>>();
        IReadOnlyList<GovernorDecision> switches = [];
        IReadOnlyList<ServiceWindow> serviceWindows = [];
        for (int i = 0; i < policies.Count; i++)
        {
            var outcome = outcomes[i];
            traces[policies[i]] = runs[i].Trace;
            if (policies[i] == AdaptivePolicy)
            {
                switches = runs[i].Switches;
                serviceWindows = runs[i].ServiceWindows;
            }
            log?.Invoke($"  {outcome.Policy}: SLO met in {outcome.SloAttainment:P1} of windows, quality {outcome.MeanQuality:P2}, max {outcome.MaxCelsius:F1} °C, throttled {outcome.SecondsThrottled:F0} s");
        }
        return new SimulationReport(board.Id, slowdown, meanRate, slo, duration, ordered, outcomes)
        {
            Traces = traces,
            AdaptiveSwitches = switches,
            AdaptiveServiceWindows = serviceWindows,
            Scenario = options.Scenario?.Name,
        };
    }

    private sealed class PolicyRun
    {
        private readonly IReadOnlyList<SimulatedVariant> _variants;
        private readonly BoardDescriptor _board;
        private readonly SimulationOptions _options;
        private readonly double _slowdown;
        private readonly Func<double, double> _rateAt;
        private readonly double _duration;
        private readonly ScenarioTimeline? _timeline;
        private readonly double _slo;
        private readonly string _policy;
        private readonly VirtualTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        private readonly SimulatedBoard _sim;
        private readonly Governor? _governor;
        private readonly DeviceMonitor? _monitor;
        private readonly Dictionary<string, LatencyTracker> _observed;
        private readonly Random _random;
        private readonly List<TracePoint> _trace = [];
        private readonly List<GovernorDecision> _switches = [];
        private readonly List<ServiceWindow> _serviceWindows = [];
        private readonly Dictionary<string, WindowAccumulator> _window = [];
        private double _windowStart;
        private readonly GovernorPolicy _policyRules;
        private readonly IReadOnlyDictionary<string, VariantCost> _profileCosts;
        private readonly int _cores;
        private readonly ExecutionKnobPolicy? _knobPolicy;
        private readonly Dictionary<(string Variant, ExecutionKnobs Knobs), LatencyTracker> _knobObserved = [];
        // Static variants run on all cores, as they would by default (spinning too, when its cost is recorded); the adaptive
        // run starts on one thread like the daemon.
        private ExecutionKnobs _knobs;

        public PolicyRun(IReadOnlyList<SimulatedVariant> variants, BoardDescriptor board, GovernorProfile profile, SimulationOptions options,
            double slowdown, Func<double, double> rateAt, double duration, int seed, double slo, ScenarioTimeline? timeline, string policy, string directory)
        {
            _variants = variants;
            _board = board;
            _options = options;
            _slowdown = slowdown;
            _rateAt = rateAt;
            _duration = duration;
            _timeline = timeline;
            _slo = slo;
            _policy = policy;
            _random = new Random(seed);
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
            _policyRules = profile.Policy;
            _profileCosts = profile.Variants;
            _cores = Math.Max(1, board.CpuFreq.Cores);
            _knobs = options.Threads?.StaticKnobs ?? ExecutionKnobs.AllThreads();
            if (options.Threads is not null && policy == AdaptivePolicy)
            {
                _knobPolicy = new ExecutionKnobPolicy(_time);
                _knobs = ExecutionKnobs.SingleThread;
                _knobPolicy.Follow(_knobs);
            }
            _sim = new SimulatedBoard(board, directory, _time.Advance, options.AmbientCelsius, seed) { WriteAfterEachStep = false };
            _sim.ExternalPower = !options.OnBattery;
            _observed = variants.ToDictionary(v => v.Id, _ => new LatencyTracker(_time, capacity: 4096, window: TimeSpan.FromSeconds(10)));
            if (policy == AdaptivePolicy)
            {
                var costs = variants.Select(v => new VariantOption(v.Id, v.Quality, new VariantCost
                {
                    LatencyP50Ms = v.MeasuredP50Ms * slowdown,
                    LatencyP95Ms = v.MeasuredP95Ms * slowdown,
                })).ToList();
                _governor = new Governor(costs, new ProfileStore(profile), _time);
                _monitor = DeviceMonitor.ForBoard(board, _sim.Root, new DeviceMonitorOptions { ReadI2c = false, RunBoardTools = false }, _time);
            }
        }

        public IReadOnlyList<TracePoint> Trace => _trace;
        public IReadOnlyList<GovernorDecision> Switches => _switches;
        public IReadOnlyList<ServiceWindow> ServiceWindows => _serviceWindows;

        /// <summary>One variant's requests in the current trace window.</summary>
        private sealed class WindowAccumulator
        {
            public readonly List<double> ServiceMs = [];
            public readonly List<double> ResponseMs = [];
            public double WaitMsSum;
            public double ClockPeriodSum;
            public double CelsiusSum;

            public void Clear()
            {
                ServiceMs.Clear();
                ResponseMs.Clear();
                WaitMsSum = ClockPeriodSum = CelsiusSum = 0;
            }
        }

        private void RecordService(string variant, double serviceMs, double waitMs, double mhz, double celsius)
        {
            if (!_window.TryGetValue(variant, out var window))
            {
                _window[variant] = window = new WindowAccumulator();
            }
            window.ServiceMs.Add(serviceMs);
            window.ResponseMs.Add(serviceMs + waitMs);
            window.WaitMsSum += waitMs;
            window.ClockPeriodSum += 1 / mhz;
            window.CelsiusSum += celsius;
        }

        private void CloseServiceWindow(double now)
        {
            double length = now - _windowStart;
            _windowStart = now;
            foreach (var (variant, window) in _window.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                int n = window.ServiceMs.Count;
                if (n == 0)
                {
                    continue;
                }
                double serviceMean = window.ServiceMs.Average(), responseMean = window.ResponseMs.Average();
                _serviceWindows.Add(new ServiceWindow(now, length, variant, n, serviceMean, Percentile(window.ServiceMs, 0.95),
                    window.WaitMsSum / n, responseMean, Percentile(window.ResponseMs, 0.95), n / window.ClockPeriodSum, window.CelsiusSum / n));
                window.Clear();
            }
        }

        public PolicyOutcome Execute()
        {
            double dt = _options.Step.TotalSeconds;
            double duration = _duration;
            double tick = _governor is null ? double.PositiveInfinity : Math.Max(dt, 0.5);
            double maxMhz = _board.CpuFreq.StepsMhz[0];
            double boardWatts = _board.Simulation!.BoardWatts;
            double defaultAmbient = _sim.AmbientCelsius;
            int current = _policy == AdaptivePolicy ? 0 : _variants.ToList().FindIndex(v => v.Id == _policy);
            var pending = new Queue<double>();
            var histogram = new LatencyHistogram();
            var served = new long[_variants.Count];
            // Arrivals: a Poisson process whose rate may change each step; "mass" is the unit-rate time left to the next one.
            double mass = UnitExponential(), free = 0, now = 0, nextTick = tick, nextTrace = 0;
            double energyJoules = 0, throttled = 0, maxCelsius = _sim.Celsius, qualitySum = 0, boardJoules = 0;
            double batteryJoules = 0, batterySeconds = 0, secondsOff = 0;
            long requests = 0, completed = 0, dropped = 0, singleThreaded = 0;
            // Pool threads spinning after a run: from spinFrom (counted up to there) until spinEnd, or until the next run starts.
            double spinFrom = 0, spinEnd = 0;
            int spinningThreads = _cores - 1;
            int switches = 0, windowsMet = 0, windows = 0, appliedSegment = -1;
            long windowSecond = 0;
            var windowLatencies = new List<double>();
            var secondsWithDrops = new HashSet<long>();
            long arrivalsSinceTick = 0, arrivalsSinceTrace = 0;
            bool observe = _policy == AdaptivePolicy;

            void CloseWindowsUntil(long second)
            {
                while (windowSecond < second)
                {
                    windows++;
                    bool met = windowLatencies.Count == 0 ? pending.Count == 0 : Percentile(windowLatencies, 0.95) <= _slo;
                    if (met && !secondsWithDrops.Remove(windowSecond))
                    {
                        windowsMet++;
                    }
                    secondsWithDrops.Remove(windowSecond);
                    windowLatencies.Clear();
                    windowSecond++;
                }
            }

            long stepIndex = 0;
            while (now < duration - 1e-6)
            {
                // From the step count, not by adding dt up: no drift, and no zero-length last step.
                double end = Math.Min(++stepIndex * dt, duration);
                if (duration - end < 1e-6)
                {
                    end = duration;
                }
                if (_timeline is not null)
                {
                    int segment = _timeline.SegmentAt(now);
                    while (appliedSegment < segment)
                    {
                        ApplySegment(_timeline.Scenario.Segments[++appliedSegment]);
                    }
                    _sim.AmbientCelsius = _timeline.AmbientAt(now) ?? defaultAmbient;
                }
                bool off = _sim.BatteryEmpty;
                if (off && pending.Count > 0)
                {
                    // The board died with requests waiting: they are lost.
                    dropped += pending.Count;
                    secondsWithDrops.Add((long)now);
                    pending.Clear();
                }
                double rate = _rateAt(now);
                double cursor = now;
                while (rate > 0 && mass <= rate * (end - cursor))
                {
                    cursor += mass / rate;
                    mass = UnitExponential();
                    requests++;
                    arrivalsSinceTick++;
                    arrivalsSinceTrace++;
                    if (off)
                    {
                        dropped++;
                        secondsWithDrops.Add((long)cursor);
                    }
                    else
                    {
                        pending.Enqueue(cursor);
                    }
                }
                if (rate > 0)
                {
                    mass -= rate * (end - cursor);
                }
                double busy = Math.Max(0, Math.Min(free, end) - now);
                double spinCoreSeconds = 0;
                double frequencyFactor = maxMhz / _sim.CapMhz;
                var variant = _variants[current];
                // The variant's own thread figures where recorded, looked up once per step rather than per request.
                var threads = _options.Threads?.For(variant.Id);
                double spinWindow = (threads?.SpinWindowMs ?? 0) / 1000;
                while (pending.Count > 0)
                {
                    double arrival = pending.Peek();
                    double start = Math.Max(arrival, free);
                    if (start >= end)
                    {
                        break;
                    }
                    pending.Dequeue();
                    // The next run puts spinning threads to work.
                    spinCoreSeconds += Math.Max(0, Math.Min(spinEnd, start) - spinFrom) * spinningThreads;
                    spinFrom = spinEnd = 0;
                    double service = ServiceSeconds(variant) * frequencyFactor * ThreadSlowdown(threads, _knobs);
                    if (observe)
                    {
                        RecordService(variant.Id, service * 1000, (start - arrival) * 1000, _sim.CapMhz, _sim.Celsius);
                    }
                    double finish = start + service;
                    free = finish;
                    if (_knobs.Spin && !_knobs.IsSingleThread && spinWindow > 0)
                    {
                        spinFrom = finish;
                        spinEnd = finish + spinWindow;
                    }
                    busy += Math.Min(finish, end) - start;
                    double latencyMs = (finish - arrival) * 1000;
                    if (finish <= duration)
                    {
                        CloseWindowsUntil((long)finish);
                        windowLatencies.Add(latencyMs);
                        histogram.Add(latencyMs);
                        completed++;
                        served[current]++;
                        qualitySum += variant.Quality;
                        singleThreaded += _knobs.IsSingleThread && _options.Threads is not null ? 1 : 0;
                    }
                    if (observe)
                    {
                        _observed[variant.Id].Record(TimeSpan.FromMilliseconds(latencyMs));
                        if (_knobPolicy is not null)
                        {
                            var key = (variant.Id, _knobs);
                            if (!_knobObserved.TryGetValue(key, out var tracker))
                            {
                                _knobObserved[key] = tracker = new LatencyTracker(_time, capacity: 4096, window: TimeSpan.FromSeconds(10));
                            }
                            tracker.Record(TimeSpan.FromMilliseconds(latencyMs));
                        }
                    }
                }
                if (spinEnd > spinFrom && spinFrom < end)
                {
                    double until = Math.Min(spinEnd, end);
                    spinCoreSeconds += (until - spinFrom) * spinningThreads;
                    spinFrom = until;
                }
                // Busy time keeps the cores the run uses active: all of them, or one of the board's on one thread; spinning
                // pool threads keep theirs active after it.
                double utilisation = off ? 0 : Math.Clamp(Math.Clamp(busy / (end - now), 0, 1) * ActiveCoreShare(threads, _knobs) + spinCoreSeconds / (_cores * (end - now)), 0, 1);
                _sim.Step(TimeSpan.FromSeconds(end - now), utilisation);
                if (off)
                {
                    secondsOff += end - now;
                }
                else
                {
                    energyJoules += _sim.CpuWatts * (end - now);
                    boardJoules += (_sim.CpuWatts + boardWatts) * (end - now);
                    if (!_sim.ExternalPower && _sim.BatteryPercent is not null)
                    {
                        batteryJoules += (_sim.CpuWatts + boardWatts) * (end - now);
                        batterySeconds += end - now;
                    }
                }
                if (_sim.CapMhz < maxMhz)
                {
                    throttled += end - now;
                }
                maxCelsius = Math.Max(maxCelsius, _sim.Celsius);
                now = end;
                CloseWindowsUntil((long)Math.Floor(now + 1e-9));

                if (now >= nextTick - 1e-9 && _governor is not null)
                {
                    _sim.WriteTree();
                    var device = _monitor!.Read();
                    double observedRate = arrivalsSinceTick / tick;
                    var decision = _governor.Decide(new GovernorInput
                    {
                        Device = device,
                        Observed = _observed.ToDictionary(p => p.Key, p => p.Value.Snapshot()),
                        ArrivalRatePerSecond = observedRate,
                        Hints = new GovernorHints { SloP95Ms = _slo },
                    });
                    arrivalsSinceTick = 0;
                    if (decision.Switched)
                    {
                        current = _variants.ToList().FindIndex(v => v.Id == decision.Variant);
                        switches++;
                        _switches.Add(decision);
                        // A switch is not free: the first run on the other session is cold (caches, lazy
                        // initialisation); counted as one extra median inference of the new variant.
                        free = Math.Max(free, now) + _variants[current].MeasuredP50Ms * _slowdown / 1000 * (maxMhz / _sim.CapMhz);
                    }
                    if (_knobPolicy is not null)
                    {
                        string id = _variants[current].Id;
                        var perKnob = _knobObserved.Where(p => p.Key.Variant == id).ToDictionary(p => p.Key.Knobs, p => p.Value.Snapshot());
                        _knobs = _knobPolicy.Choose(perKnob, _cores, _slo, observedRate, PowerState.From(device, _policyRules), _policyRules,
                            _profileCosts.GetValueOrDefault(id)?.Knobs).Knobs;
                    }
                    nextTick += tick;
                }
                if (now >= nextTrace - 1e-9)
                {
                    double traceSeconds = nextTrace == 0 ? Math.Max(now, dt) : 5;
                    _trace.Add(new TracePoint(now, _sim.Celsius, off ? 0 : _sim.FrequencyMhz, utilisation, off ? "off" : _variants[current].Id,
                        windowLatencies.Count > 0 ? Percentile(windowLatencies, 0.95) : 0)
                    {
                        RatePerSecond = arrivalsSinceTrace / traceSeconds,
                        AmbientCelsius = _sim.AmbientCelsius,
                        BatteryPercent = _sim.BatteryPercent,
                        ExternalPower = _sim.ExternalPower,
                    });
                    arrivalsSinceTrace = 0;
                    if (observe)
                    {
                        CloseServiceWindow(now);
                    }
                    nextTrace += 5;
                }
            }
            CloseWindowsUntil((long)Math.Floor(duration));
            double? batteryHours = null;
            if (_board.Simulation!.Battery is { } battery)
            {
                // Hours a full battery lasts at this policy's draw: over the time on battery when there was some.
                double watts = batterySeconds > 0 ? batteryJoules / batterySeconds : boardJoules / Math.Max(1e-9, duration - secondsOff);
                batteryHours = watts > 0 ? battery.CapacityWattHours / watts : null;
            }
            return new PolicyOutcome(
                _policy, requests, completed,
                windows == 0 ? 1 : (double)windowsMet / windows,
                completed == 0 ? 0 : qualitySum / completed,
                histogram.Percentile(0.95),
                maxCelsius, throttled,
                completed == 0 ? double.NaN : energyJoules * 1000 / completed,
                batteryHours,
                switches,
                _variants.Select((v, i) => (v.Id, Share: completed == 0 ? 0 : (double)served[i] / completed)).ToDictionary(p => p.Id, p => p.Share))
            {
                Dropped = dropped,
                SecondsOff = secondsOff,
                SingleThreadShare = completed == 0 ? 0 : (double)singleThreaded / completed,
            };
        }

        /// <summary>Service time on these knobs relative to a run on all cores (the recorded costs).</summary>
        private double ThreadSlowdown(SimulatedThreads? threads, ExecutionKnobs knobs) =>
            threads is not null && knobs.IsSingleThread ? threads.SingleThreadSlowdown(_cores) : 1;

        /// <summary>Share of the board's cores a run keeps active.</summary>
        private double ActiveCoreShare(SimulatedThreads? threads, ExecutionKnobs knobs) => threads?.ActiveCoreShare(knobs, _cores) ?? 1;

        private void ApplySegment(ScenarioSegment segment)
        {
            if (segment.ExternalPower is bool external)
            {
                _sim.ExternalPower = external;
            }
            if (segment.BatteryPercent is double percent)
            {
                _sim.SetBatteryPercent(percent);
            }
            if (segment.FanFailed is bool failed)
            {
                _sim.FanFailed = failed;
            }
        }

        private double UnitExponential() => -Math.Log(1 - _random.NextDouble());

        /// <summary>Service time on the board at full clock: lognormal with the measured median and p95, times the board's true cost factor.</summary>
        private double ServiceSeconds(SimulatedVariant variant)
        {
            double median = variant.MeasuredP50Ms * _slowdown * _options.TrueCostFactors.GetValueOrDefault(variant.Id, 1) / 1000;
            double sigma = Math.Max(1e-6, Math.Log(Math.Max(variant.MeasuredP95Ms, variant.MeasuredP50Ms * 1.0001) / variant.MeasuredP50Ms) / 1.645);
            double u1 = 1 - _random.NextDouble(), u2 = _random.NextDouble();
            double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return median * Math.Exp(sigma * normal);
        }

        private static double Percentile(List<double> values, double fraction)
        {
            values.Sort();
            return LatencyTracker.Percentile(values, fraction);
        }
    }
}
