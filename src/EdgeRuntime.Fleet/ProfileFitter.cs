using System.Globalization;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Fleet;

/// <summary>
/// Fits governor profiles from ingested telemetry, per device class: each variant's service time (p95 and mean) against
/// clock and temperature where the summaries carry it, else its response time (p95, and mean where logged), which mixes
/// in queue wait; busy power and energy per inference where power was logged (else from the logged CPU time and the
/// board's power model); the same per threads setting logged with the windows; and the
/// thermal time constant from each device's temperature samples. The class's shipped profile supplies the policy
/// and whatever the data cannot (its throttle point, its heat rise).
/// </summary>
public sealed class ProfileFitter(FleetStore store, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public IReadOnlyList<string> DeviceClasses()
    {
        var classes = new List<string>();
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT DISTINCT device_class FROM records ORDER BY 1";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            classes.Add(reader.GetString(0));
        }
        return classes;
    }

    /// <param name="excludeDevices">Devices left out of the fit (held out to test it).</param>
    public FittedProfile Fit(string deviceClass, IReadOnlySet<string>? excludeDevices = null)
    {
        var samples = new Dictionary<string, VariantSamples>();
        var devices = new HashSet<string>();
        long first = long.MaxValue, last = long.MinValue;
        using (var command = store.Connection.CreateCommand())
        {
            command.CommandText = "SELECT device_id, unix_ms, variant, frequency_mhz, celsius, p95_ms, mean_ms, power_watts, service_p95_ms, service_mean_ms, cpu_ms_per_inference, knobs FROM records " +
                "WHERE kind = 'inference' AND device_class = $class AND frequency_mhz IS NOT NULL AND celsius IS NOT NULL " +
                // A fixed order makes the sums, and so the fitted figures, the same from run to run.
                "ORDER BY device_id, sequence";
            command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("class", deviceClass));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                string device = reader.GetString(0);
                if (excludeDevices?.Contains(device) == true)
                {
                    continue;
                }
                devices.Add(device);
                long at = reader.GetInt64(1);
                first = Math.Min(first, at);
                last = Math.Max(last, at);
                string variant = reader.GetString(2);
                if (!samples.TryGetValue(variant, out var s))
                {
                    samples[variant] = s = new VariantSamples();
                }
                // A window also counts towards the threads setting in force at its end (a change within it blurs both).
                string? setting = reader.IsDBNull(11) ? null : ExecutionKnobs.FromCode(reader.GetString(11))?.Code;
                s.Add(reader, setting is null ? null : s.For(setting));
            }
        }
        if (devices.Count == 0)
        {
            throw new InvalidDataException($"no inference summaries with clock and temperature for device class '{deviceClass}'");
        }
        var baseProfile = ProfileCatalog.BuiltIn(deviceClass);
        double fullClock = samples.Values.SelectMany(s => s.P95).Max(p => p.Mhz);
        var celsiusAll = samples.Values.SelectMany(s => s.P95).Select(p => p.Celsius).Order().ToList();
        double typicalCelsius = celsiusAll[celsiusAll.Count / 2];

        var models = new Dictionary<string, LatencyModel>();
        var meanModels = new Dictionary<string, LatencyModel>();
        var variants = new Dictionary<string, VariantCost>();
        bool anyService = false, anyResponse = false;
        foreach (var (variant, s) in samples.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (FitCost(deviceClass, s, fullClock, typicalCelsius) is not { } cost)
            {
                continue;
            }
            anyService |= cost.FromServiceTime;
            anyResponse |= !cost.FromServiceTime;
            models[variant] = cost.P95Model;
            if (cost.MeanModel is not null)
            {
                meanModels[variant] = cost.MeanModel;
            }
            // Per threads setting, by the same fit on that setting's windows alone; a setting with too few is left out.
            var settings = new Dictionary<string, KnobSettingCost>();
            foreach (var (code, setting) in s.BySetting.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (FitCost(deviceClass, setting, fullClock, typicalCelsius) is { } settingCost)
                {
                    settings[code] = new KnobSettingCost
                    {
                        LatencyP50Ms = settingCost.P50,
                        LatencyP95Ms = settingCost.P95,
                        CpuMsPerInference = setting.CpuMs.Count > 0 ? setting.CpuMs.Average(c => c.CpuMs) : null,
                        EnergyMillijoules = settingCost.EnergyMillijoules,
                    };
                }
            }
            variants[variant] = new VariantCost
            {
                LatencyP50Ms = cost.P50,
                LatencyP95Ms = cost.P95,
                BusyPowerWatts = cost.Watts,
                EnergyMillijoules = cost.EnergyMillijoules,
                Knobs = settings.Count > 0 ? settings : null,
            };
        }
        if (variants.Count == 0)
        {
            throw new InvalidDataException($"device class '{deviceClass}': too few inference summaries to fit any variant (need 3 per variant)");
        }

        var taus = new List<double>();
        foreach (string device in devices)
        {
            if (ThermalFit.TimeConstantSeconds(TemperatureSeries(device)) is double tau)
            {
                taus.Add(tau);
            }
        }
        taus.Sort();
        double? timeConstant = taus.Count > 0 ? taus[taus.Count / 2] : null;
        double fitError = models.Values.Sum(m => m.MeanRelativeError * m.Samples) / models.Values.Sum(m => m.Samples);
        var window = $"{DateTimeOffset.FromUnixTimeMilliseconds(first):O}/{DateTimeOffset.FromUnixTimeMilliseconds(last):O}";
        var profile = baseProfile with
        {
            DeviceClass = deviceClass,
            Version = baseProfile.Version + 1,
            Provenance = new ProfileProvenance
            {
                Source = "fleet-fit",
                CreatedUtc = _time.GetUtcNow(),
                DataWindow = window,
                Devices = devices.Count,
                FitError = fitError,
                Notes = string.Create(CultureInfo.InvariantCulture,
                    $"{Basis(anyService, anyResponse)} p95 = a + b*(1000/MHz) + c*degC per variant (and per threads setting of it with 3 or more windows), evaluated at {fullClock:F0} MHz and {typicalCelsius:F1} degC; fit_error is the mean relative error on the fitted data; thermal time constant is the median over {taus.Count} devices{(timeConstant is null ? " (none usable: kept the shipped value)" : "")}"),
            },
            Thermal = timeConstant is double t ? baseProfile.Thermal with { TimeConstantSeconds = Math.Round(t, 1) } : baseProfile.Thermal,
            Variants = variants,
        };
        // The profile must be one the devices accept.
        var problems = ProfileJson.Validate(profile);
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"fitted profile for '{deviceClass}' is not valid: {string.Join("; ", problems)}");
        }
        return new FittedProfile(profile, models, timeConstant, taus.Count) { MeanLatency = meanModels, FromServiceTime = anyService && !anyResponse };
    }

    private sealed record FittedCost(LatencyModel P95Model, LatencyModel? MeanModel, bool FromServiceTime, double P50, double P95, double? Watts, double? EnergyMillijoules);

    /// <summary>The cost of one set of windows (a variant's, or one threads setting's of it) at full clock and typical temperature; null with too few.</summary>
    private static FittedCost? FitCost(string deviceClass, SampleSet s, double fullClock, double typicalCelsius)
    {
        // Service time is what the variant costs on the board; response time also holds the queue, which is the load's.
        bool service = s.ServiceP95.Count >= 3;
        var p95Model = LatencyModel.Fit(service ? s.ServiceP95 : s.P95);
        if (p95Model is null)
        {
            return null;
        }
        double p95 = Math.Max(1e-6, p95Model.Predict(fullClock, typicalCelsius));
        var meanModel = LatencyModel.Fit(service ? s.ServiceMean : s.Mean);
        // Without logged means the p95 stands in for the median: conservative for the governor.
        double p50 = meanModel is null ? p95 : Math.Clamp(meanModel.Predict(fullClock, typicalCelsius), 1e-6, p95);
        double? watts = s.Watts.Count > 0 ? s.Watts.Average() : null;
        return new FittedCost(p95Model, meanModel, service, p50, p95, watts, watts is double w ? w * p50 : CpuEnergyMillijoules(deviceClass, s.CpuMs));
    }

    private static string Basis(bool service, bool response) => (service, response) switch
    {
        (true, false) => "service time",
        (true, true) => "service time (response time for variants logged without it)",
        _ => "response time (queue wait included: the logs carry no service time)",
    };

    /// <summary>
    /// Energy per inference from the CPU time the devices logged (the process's CPU per inference, spinning pool threads
    /// included) and the board's power model (dynamic watts per busy core at the logged clock), where no power rail reports
    /// watts: the mean over the windows. Null without CPU figures or a power model for the class.
    /// </summary>
    private static double? CpuEnergyMillijoules(string deviceClass, List<(double Mhz, double CpuMs)> cpu)
    {
        if (cpu.Count == 0 || !BoardCatalog.BuiltIn().TryGet(deviceClass, out var board))
        {
            return null;
        }
        var energies = cpu.Select(c => BoardEnergy.JoulesPerCpuSecond(board, c.Mhz) is double joules ? c.CpuMs * joules : double.NaN)
            .Where(double.IsFinite)
            .ToList();
        return energies.Count > 0 ? energies.Average() : null;
    }

    /// <summary>The figures of a set of inference windows, each at the clock and temperature it was logged at.</summary>
    private class SampleSet
    {
        public List<(double Mhz, double CpuMs)> CpuMs { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> P95 { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> Mean { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> ServiceP95 { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> ServiceMean { get; } = [];
        public List<double> Watts { get; } = [];

        /// <summary>Adds the reader's row (the fitter's query: clock at 3, temperature at 4, figures from 5) here and to <paramref name="also"/>.</summary>
        public void Add(System.Data.Common.DbDataReader row, SampleSet? also = null)
        {
            double mhz = row.GetDouble(3), celsius = row.GetDouble(4);
            SampleSet[] sets = also is null ? [this] : [this, also];
            foreach (var set in sets)
            {
                if (!row.IsDBNull(5))
                {
                    set.P95.Add((mhz, celsius, row.GetDouble(5)));
                }
                if (!row.IsDBNull(6))
                {
                    set.Mean.Add((mhz, celsius, row.GetDouble(6)));
                }
                if (!row.IsDBNull(7))
                {
                    set.Watts.Add(row.GetDouble(7));
                }
                if (!row.IsDBNull(8))
                {
                    set.ServiceP95.Add((mhz, celsius, row.GetDouble(8)));
                }
                if (!row.IsDBNull(9))
                {
                    set.ServiceMean.Add((mhz, celsius, row.GetDouble(9)));
                }
                if (!row.IsDBNull(10))
                {
                    set.CpuMs.Add((mhz, row.GetDouble(10)));
                }
            }
        }
    }

    /// <summary>A variant's windows, and the same split by the threads setting logged with them.</summary>
    private sealed class VariantSamples : SampleSet
    {
        public Dictionary<string, SampleSet> BySetting { get; } = new(StringComparer.Ordinal);

        public SampleSet For(string code) => BySetting.TryGetValue(code, out var set) ? set : BySetting[code] = new SampleSet();
    }

    private List<(double Seconds, double Celsius)> TemperatureSeries(string device)
    {
        var series = new List<(double, double)>();
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT unix_ms, sensor_value FROM records WHERE kind = 'sensor' AND sensor_name = 'soc_celsius' AND device_id = $device ORDER BY sequence";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("device", device));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            series.Add((reader.GetInt64(0) / 1000.0, reader.GetDouble(1)));
        }
        return series;
    }
}
