using System.Globalization;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Governance;

namespace EdgeRuntime.Fleet;

/// <summary>
/// Fits governor profiles from ingested telemetry, per device class: each variant's service time (p95 and mean) against
/// clock and temperature where the summaries carry it, else its response time (p95, and mean where logged), which mixes
/// in queue wait; busy power and energy per inference where power was logged, and the
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
            command.CommandText = "SELECT device_id, unix_ms, variant, frequency_mhz, celsius, p95_ms, mean_ms, power_watts, service_p95_ms, service_mean_ms, cpu_ms_per_inference FROM records " +
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
                double mhz = reader.GetDouble(3), celsius = reader.GetDouble(4);
                if (!reader.IsDBNull(5))
                {
                    s.P95.Add((mhz, celsius, reader.GetDouble(5)));
                }
                if (!reader.IsDBNull(6))
                {
                    s.Mean.Add((mhz, celsius, reader.GetDouble(6)));
                }
                if (!reader.IsDBNull(7))
                {
                    s.Watts.Add(reader.GetDouble(7));
                }
                if (!reader.IsDBNull(8))
                {
                    s.ServiceP95.Add((mhz, celsius, reader.GetDouble(8)));
                }
                if (!reader.IsDBNull(9))
                {
                    s.ServiceMean.Add((mhz, celsius, reader.GetDouble(9)));
                }
                if (!reader.IsDBNull(10))
                {
                    s.CpuMs.Add((mhz, reader.GetDouble(10)));
                }
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
            // Service time is what the variant costs on the board; response time also holds the queue, which is the load's.
            bool service = s.ServiceP95.Count >= 3;
            var p95Model = LatencyModel.Fit(service ? s.ServiceP95 : s.P95);
            if (p95Model is null)
            {
                continue;
            }
            anyService |= service;
            anyResponse |= !service;
            models[variant] = p95Model;
            double p95 = Math.Max(1e-6, p95Model.Predict(fullClock, typicalCelsius));
            var meanModel = LatencyModel.Fit(service ? s.ServiceMean : s.Mean);
            if (meanModel is not null)
            {
                meanModels[variant] = meanModel;
            }
            // Without logged means the p95 stands in for the median: conservative for the governor.
            double p50 = meanModel is null ? p95 : Math.Clamp(meanModel.Predict(fullClock, typicalCelsius), 1e-6, p95);
            double? watts = s.Watts.Count > 0 ? s.Watts.Average() : null;
            variants[variant] = new VariantCost
            {
                LatencyP50Ms = p50,
                LatencyP95Ms = p95,
                BusyPowerWatts = watts,
                EnergyMillijoules = watts is double w ? w * p50 : CpuEnergyMillijoules(deviceClass, s.CpuMs),
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
                    $"{Basis(anyService, anyResponse)} p95 = a + b*(1000/MHz) + c*degC per variant, evaluated at {fullClock:F0} MHz and {typicalCelsius:F1} degC; fit_error is the mean relative error on the fitted data; thermal time constant is the median over {taus.Count} devices{(timeConstant is null ? " (none usable: kept the shipped value)" : "")}"),
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

    private sealed class VariantSamples
    {
        public List<(double Mhz, double CpuMs)> CpuMs { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> P95 { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> Mean { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> ServiceP95 { get; } = [];
        public List<(double Mhz, double Celsius, double Ms)> ServiceMean { get; } = [];
        public List<double> Watts { get; } = [];
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
