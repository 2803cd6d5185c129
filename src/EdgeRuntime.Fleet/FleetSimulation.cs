using System.Globalization;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Fleet.Mqtt;
using EdgeRuntime.Governance;
using EdgeRuntime.Simulation;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet;

public sealed record FleetSimulationOptions
{
    public string Board { get; init; } = "raspberry-pi-4";
    public int Devices { get; init; } = 20;
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(20);
    /// <summary>Request rate as the share of time the reference variant would be busy at the board's assumed speed.</summary>
    public double Load { get; init; } = 0.8;
    /// <summary>
    /// How much slower the boards really are than the speed the runtime assumes for the class (<see cref="BoardSpeed"/>):
    /// the error a hand-written profile carries and a fitted one should not.
    /// </summary>
    public double TrueSlowdownFactor { get; init; } = 1.3;
    /// <summary>Unit-to-unit spread of that factor (uniform, ±).</summary>
    public double UnitVariation { get; init; } = 0.05;
    /// <summary>Every n-th board is held out: left out of the fit, then run with both profiles.</summary>
    public int HoldOutEvery { get; init; } = 4;
    public int Seed { get; init; } = 1;
    /// <summary>When set, the logs travel as in the field: each board's uplink to this broker, fleet ingest from it. Otherwise ingest reads the log files.</summary>
    public MqttBrokerOptions? Broker { get; init; }
    /// <summary>How long the upload through the broker may take before the run fails.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public void Validate()
    {
        Broker?.Validate();
        if (Devices is < 4 or > 10_000)
        {
            throw new ArgumentException($"devices must be within [4, 10000], got {Devices}");
        }
        if (Duration < TimeSpan.FromMinutes(1) || Duration > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"duration must be within [1 min, 1 day], got {Duration}");
        }
        if (Load is <= 0 or > 2)
        {
            throw new ArgumentException($"load must be in (0, 2], got {Load}");
        }
        if (TrueSlowdownFactor is <= 0 or > 100)
        {
            throw new ArgumentException($"true slowdown factor must be in (0, 100], got {TrueSlowdownFactor}");
        }
        if (UnitVariation is < 0 or >= 1)
        {
            throw new ArgumentException($"unit variation must be in [0, 1), got {UnitVariation}");
        }
        if (HoldOutEvery < 2 || HoldOutEvery > Devices)
        {
            throw new ArgumentException($"hold-out-every must be within [2, devices = {Devices}], got {HoldOutEvery}");
        }
    }
}

/// <summary>One simulated board of the fleet: where it stands and how it is built.</summary>
public sealed record SimulatedDevice(string Id, double AmbientCelsius, double ThermalResistanceFactor, bool Fan, bool OnBattery, double CostFactor, bool HeldOut)
{
    public string Cooling => (Fan ? "fan, " : "") + string.Create(CultureInfo.InvariantCulture, $"R x{ThermalResistanceFactor:F2}");
}

/// <summary>A policy's result on one held-out board.</summary>
public sealed record HeldOutRun(string Device, string Profile, double SloAttainment, double MeanQuality, double SecondsThrottled, double MaxCelsius, int Switches);

/// <summary>Means over the held-out boards for one profile.</summary>
public sealed record FleetOutcome(string Profile, double SloAttainment, double MeanQuality, double SecondsThrottled, double MaxCelsius, double Switches);

public sealed record FleetSimulationReport(
    string Board,
    IReadOnlyList<SimulatedDevice> Devices,
    double DurationSeconds,
    double RatePerSecond,
    double SloP95Ms,
    long RecordsWritten,
    IngestReport Ingest,
    int HeldOutWindows,
    double HeldOutServiceMeanError,
    double HeldOutServiceP95Error,
    double HeldOutWithin10Percent,
    double HeldOutResponseP95Error,
    double? FittedTimeConstantSeconds,
    double DefaultTimeConstantSeconds,
    IReadOnlyDictionary<string, double> TrueFullClockServiceMs,
    IReadOnlyDictionary<string, double> AssumedFullClockServiceMs,
    FleetOutcome Default,
    FleetOutcome Fitted,
    IReadOnlyList<HeldOutRun> Runs)
{
    public GovernorProfile FittedProfile { get; init; } = null!;
    public bool FittedOnServiceTime { get; init; }
    /// <summary>How the telemetry reached the fleet store: "log files" or "MQTT host:port".</summary>
    public string IngestedVia { get; init; } = "log files";
}

/// <summary>
/// The fleet loop end to end, in simulation: boards that differ in ambient temperature, cooling, power source and
/// unit-to-unit speed run the real governor with the class's shipped profile and write telemetry through the real log;
/// the logs are ingested and a profile fitted from the boards not held out; then each held-out board runs the same
/// workload again with the fitted profile, and both runs are compared. Everything runs in virtual time.
/// </summary>
public static class FleetSimulation
{
    public static FleetSimulationReport Run(IReadOnlyList<SimulatedVariant> variants, FleetSimulationOptions options, string workDirectory, Action<string>? log = null)
    {
        options.Validate();
        var catalog = BoardCatalog.BuiltIn();
        if (!catalog.TryGet(options.Board, out var board) || board.Simulation is null)
        {
            throw new ArgumentException($"unknown or unsimulated board '{options.Board}'; known: {string.Join(", ", catalog.Boards.Where(b => b.Simulation is not null).Select(b => b.Id))}");
        }
        var shipped = ProfileCatalog.BuiltIn(board.Id);
        var devices = MakeDevices(options);
        string logs = Path.Combine(workDirectory, "logs");
        string scratch = Path.Combine(workDirectory, "boards");
        if (Directory.Exists(logs))
        {
            Directory.Delete(logs, recursive: true);
        }

        long written = 0;
        var defaultRuns = new Dictionary<string, SimulationReport>();
        foreach (var device in devices)
        {
            var report = Simulate(variants, board, device, shipped, options, scratch);
            written += SimulationTelemetry.WriteAsync(report, new TelemetryLogOptions
            {
                Directory = Path.Combine(logs, device.Id), DeviceId = device.Id, DeviceClass = board.Id,
            }).GetAwaiter().GetResult();
            defaultRuns[device.Id] = report;
            var outcome = report.Outcomes[0];
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"  {device.Id}{(device.HeldOut ? " (held out)" : "")}: {device.AmbientCelsius:F0} °C ambient, {device.Cooling}, {(device.OnBattery ? "battery" : "mains")}, cost x{device.CostFactor:F2}: SLO met {outcome.SloAttainment:P1}, quality {outcome.MeanQuality:P2}, throttled {outcome.SecondsThrottled:F0} s"));
        }

        string database = Path.Combine(workDirectory, "fleet.duckdb");
        File.Delete(database);
        using var store = FleetStore.Open(database);
        IngestReport ingest;
        if (options.Broker is { } broker)
        {
            string cursors = Path.Combine(workDirectory, "uplink-cursors");
            if (Directory.Exists(cursors))
            {
                Directory.Delete(cursors, recursive: true);
            }
            var deviceLogs = devices.Select(d => new DeviceLog(d.Id, board.Id, Path.Combine(logs, d.Id))).ToList();
            // Off the caller's synchronization context: the upload's continuations must not wait for this blocked thread.
            ingest = Task.Run(() => FleetUpload.UploadAndIngestAsync(store, deviceLogs, broker, cursors, options.UploadTimeout)).GetAwaiter().GetResult();
        }
        else
        {
            ingest = store.IngestLogs(devices.Select(d => Path.Combine(logs, d.Id)));
        }
        var heldOut = devices.Where(d => d.HeldOut).Select(d => d.Id).ToHashSet();
        var fitted = new ProfileFitter(store, new FixedClock(SimulationTelemetry.SimulationStart + options.Duration)).Fit(board.Id, heldOut);
        var (windows, meanError, p95Error, within10) = HeldOutError(store, fitted, heldOut);
        double responseError = ResponseFitError(store, heldOut);
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"fitted on {devices.Count - heldOut.Count} boards: held-out service time error {meanError:P1} (mean), {p95Error:P1} (p95) over {windows} windows; a fit of response p95 would be off by {responseError:P0}"));

        var runs = new List<HeldOutRun>();
        foreach (var device in devices.Where(d => d.HeldOut))
        {
            runs.Add(ToRun(device.Id, "default", defaultRuns[device.Id].Outcomes[0]));
            var again = Simulate(variants, board, device, fitted.Profile, options, scratch);
            runs.Add(ToRun(device.Id, "fitted", again.Outcomes[0]));
        }
        var first = defaultRuns.Values.First();
        double slowdown = first.BoardSlowdown;
        var assumed = variants.ToDictionary(v => v.Id, v => v.MeasuredP50Ms * slowdown);
        var truth = variants.ToDictionary(v => v.Id, v => v.MeasuredP50Ms * slowdown * options.TrueSlowdownFactor);
        return new FleetSimulationReport(board.Id, devices, options.Duration.TotalSeconds, first.RatePerSecond, first.SloP95Ms, written, ingest,
            windows, meanError, p95Error, within10, responseError, fitted.TimeConstantSeconds, shipped.Thermal.TimeConstantSeconds, truth, assumed,
            Mean("default", runs), Mean("fitted", runs), runs)
        {
            FittedProfile = fitted.Profile,
            FittedOnServiceTime = fitted.FromServiceTime,
            IngestedVia = options.Broker is { } via ? $"MQTT {via.Host}:{via.Port}" : "log files",
        };
    }

    /// <summary>Boards spread evenly over ambient 15-40 °C and thermal resistance x0.8-1.3, every third with a fan, every fifth on battery.</summary>
    public static IReadOnlyList<SimulatedDevice> MakeDevices(FleetSimulationOptions options)
    {
        var random = new Random(options.Seed);
        var devices = new List<SimulatedDevice>();
        for (int i = 0; i < options.Devices; i++)
        {
            double spread = options.Devices == 1 ? 0.5 : (double)i / (options.Devices - 1);
            // Interleave so held-out boards span the same range as the fitted ones.
            double ambient = 15 + 25 * ((i * 7 % options.Devices) / (double)Math.Max(1, options.Devices - 1));
            double resistance = 0.8 + 0.5 * spread;
            double unit = 1 + options.UnitVariation * (2 * random.NextDouble() - 1);
            devices.Add(new SimulatedDevice($"board-{i:D3}", Math.Round(ambient, 1), Math.Round(resistance, 2), Fan: i % 3 == 2, OnBattery: i % 5 == 3,
                options.TrueSlowdownFactor * unit, HeldOut: i % options.HoldOutEvery == options.HoldOutEvery - 1));
        }
        return devices;
    }

    private static SimulationReport Simulate(IReadOnlyList<SimulatedVariant> variants, BoardDescriptor board, SimulatedDevice device,
        GovernorProfile profile, FleetSimulationOptions options, string scratch)
    {
        var model = board.Simulation!;
        var unit = board with
        {
            Simulation = model with
            {
                ThermalResistance = model.ThermalResistance * device.ThermalResistanceFactor,
                // A fan that, at full speed, doubles the bare board's conductance to ambient.
                FanConductance = device.Fan ? 1 / model.ThermalResistance : model.FanConductance,
            },
        };
        var simulation = new SimulationOptions
        {
            Board = board.Id,
            Load = options.Load,
            Duration = options.Duration,
            AmbientCelsius = device.AmbientCelsius,
            OnBattery = device.OnBattery,
            Seed = options.Seed * 7919 + int.Parse(device.Id.AsSpan(device.Id.LastIndexOf('-') + 1), CultureInfo.InvariantCulture),
            StaticBaselines = false,
            TrueCostFactors = variants.ToDictionary(v => v.Id, _ => device.CostFactor),
        };
        return AdaptiveSimulation.Run(variants, unit, profile, simulation, Path.Combine(scratch, device.Id));
    }

    /// <summary>How well the fitted models predict the held-out boards' logged service times, window by window.</summary>
    private static (int Windows, double MeanError, double P95Error, double Within10) HeldOutError(FleetStore store, FittedProfile fitted, IReadOnlySet<string> heldOut)
    {
        var meanErrors = new List<double>();
        var p95Errors = new List<double>();
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT device_id, variant, frequency_mhz, celsius, service_mean_ms, service_p95_ms FROM records " +
            "WHERE kind = 'inference' AND service_mean_ms IS NOT NULL AND service_p95_ms IS NOT NULL AND frequency_mhz IS NOT NULL AND celsius IS NOT NULL";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (!heldOut.Contains(reader.GetString(0)))
            {
                continue;
            }
            string variant = reader.GetString(1);
            double mhz = reader.GetDouble(2), celsius = reader.GetDouble(3), mean = reader.GetDouble(4), p95 = reader.GetDouble(5);
            if (fitted.MeanLatency.TryGetValue(variant, out var meanModel))
            {
                meanErrors.Add(Math.Abs(meanModel.Predict(mhz, celsius) - mean) / mean);
            }
            if (fitted.Latency.TryGetValue(variant, out var p95Model))
            {
                p95Errors.Add(Math.Abs(p95Model.Predict(mhz, celsius) - p95) / p95);
            }
        }
        return (meanErrors.Count,
            meanErrors.Count > 0 ? meanErrors.Average() : double.NaN,
            p95Errors.Count > 0 ? p95Errors.Average() : double.NaN,
            meanErrors.Count > 0 ? meanErrors.Count(e => e <= 0.1) / (double)meanErrors.Count : double.NaN);
    }

    /// <summary>
    /// The same held-out check for a model of response p95 (what the logs held before service time): queue wait
    /// depends on the load and the variant mix, not on clock and temperature, so such a model cannot predict it.
    /// </summary>
    private static double ResponseFitError(FleetStore store, IReadOnlySet<string> heldOut)
    {
        var train = new Dictionary<string, List<(double Mhz, double Celsius, double Ms)>>();
        var test = new List<(string Variant, double Mhz, double Celsius, double Ms)>();
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = "SELECT device_id, variant, frequency_mhz, celsius, p95_ms FROM records " +
                "WHERE kind = 'inference' AND frequency_mhz IS NOT NULL AND celsius IS NOT NULL ORDER BY device_id, sequence";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var row = (reader.GetString(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4));
                if (heldOut.Contains(reader.GetString(0)))
                {
                    test.Add(row);
                }
                else
                {
                    if (!train.TryGetValue(row.Item1, out var list))
                    {
                        train[row.Item1] = list = [];
                    }
                    list.Add((row.Item2, row.Item3, row.Item4));
                }
            }
        }
        var models = train.Select(p => (p.Key, Model: LatencyModel.Fit(p.Value))).Where(p => p.Model is not null).ToDictionary(p => p.Key, p => p.Model!);
        var errors = test.Where(t => models.ContainsKey(t.Variant))
            .Select(t => Math.Abs(models[t.Variant].Predict(t.Mhz, t.Celsius) - t.Ms) / t.Ms).ToList();
        return errors.Count > 0 ? errors.Average() : double.NaN;
    }

    private static HeldOutRun ToRun(string device, string profile, PolicyOutcome outcome) =>
        new(device, profile, outcome.SloAttainment, outcome.MeanQuality, outcome.SecondsThrottled, outcome.MaxCelsius, outcome.Switches);

    private static FleetOutcome Mean(string profile, List<HeldOutRun> runs)
    {
        var mine = runs.Where(r => r.Profile == profile).ToList();
        return new FleetOutcome(profile, mine.Average(r => r.SloAttainment), mine.Average(r => r.MeanQuality), mine.Average(r => r.SecondsThrottled),
            mine.Max(r => r.MaxCelsius), mine.Average(r => r.Switches));
    }

    /// <summary>The fitted profile's creation time is the end of the simulated data, so a run's output does not depend on the wall clock.</summary>
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
