using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Simulation;

/// <summary>
/// Writes the adaptive run of a simulation through the real telemetry log, as the board would have: a temperature and
/// a clock sample per trace window, an inference summary per window and variant (service time apart from queue wait,
/// with the clock and temperature the requests ran at), and every switch with the governor's reason.
/// </summary>
public static class SimulationTelemetry
{
    /// <summary>The clock the simulation starts from (its virtual time), so switch times and windows line up.</summary>
    public static readonly DateTimeOffset SimulationStart = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <returns>Records written.</returns>
    public static async Task<long> WriteAsync(SimulationReport report, TelemetryLogOptions options)
    {
        options.Validate();
        var records = new List<TelemetryRecord>();
        if (report.Traces.TryGetValue(AdaptiveSimulation.AdaptivePolicy, out var trace))
        {
            foreach (var point in trace)
            {
                long at = At(point.Seconds);
                records.Add(Stamp(TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = point.Celsius, Unit = "°C" }), at));
                records.Add(Stamp(TelemetryRecord.For(new SensorSample { Name = "cpu_mhz", Value = point.FrequencyMhz, Unit = "MHz" }), at));
            }
        }
        foreach (var window in report.AdaptiveServiceWindows)
        {
            records.Add(Stamp(TelemetryRecord.For(new InferenceSummary
            {
                Variant = window.Variant,
                WindowSeconds = window.WindowSeconds,
                Count = window.Count,
                MeanMs = window.ResponseMeanMs,
                P95Ms = window.ResponseP95Ms,
                FrequencyMhz = window.FrequencyMhz,
                Celsius = window.Celsius,
                ServiceMeanMs = window.ServiceMeanMs,
                ServiceP95Ms = window.ServiceP95Ms,
                QueueWaitMeanMs = window.QueueWaitMeanMs,
            }), At(window.EndSeconds)));
        }
        foreach (var decision in report.AdaptiveSwitches)
        {
            records.Add(Stamp(TelemetryRecord.For(new SwitchRecord
            {
                From = decision.Previous, To = decision.Variant, Reason = decision.Reason.ToString(), Detail = decision.Detail, Celsius = decision.TemperatureCelsius,
            }), decision.At.ToUnixTimeMilliseconds()));
        }
        // Stable: records of the same instant keep the order above (samples, then summaries).
        var ordered = records.OrderBy(r => r.UnixTimeMilliseconds).ToList();
        return await WriteAll(options, ordered);
    }

    private static long At(double seconds) => (SimulationStart + TimeSpan.FromSeconds(seconds)).ToUnixTimeMilliseconds();

    private static TelemetryRecord Stamp(TelemetryRecord record, long unixMilliseconds)
    {
        record.UnixTimeMilliseconds = unixMilliseconds;
        return record;
    }

    private static async Task<long> WriteAll(TelemetryLogOptions options, List<TelemetryRecord> records)
    {
        await using var log = TelemetryLog.Open(options);
        foreach (var record in records)
        {
            // A real device drops when the queue is full; replaying a finished run can afford to wait instead.
            if (!log.TryWrite(record))
            {
                await log.FlushAsync();
                if (!log.TryWrite(record))
                {
                    throw new IOException($"telemetry log in '{options.Directory}' does not accept records");
                }
            }
        }
        if (!await log.FlushAsync())
        {
            throw new IOException($"writing the telemetry log in '{options.Directory}' failed ({log.WriteErrors} write errors)");
        }
        return log.Written;
    }
}
