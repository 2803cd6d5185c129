using EdgeRuntime.Simulation;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Bench.FleetLoad;

/// <summary>
/// Telemetry of made-up devices with a known ground truth, written through the real device log: each device's
/// temperature approaches its settle point with a known time constant and two variants' p95 latency follows a known
/// function of clock and temperature. For ingest benchmarks and for checking that fitting recovers the truth.
/// </summary>
public static class SyntheticFleet
{
    public const string DeviceClass = "synthetic-board";
    public const double TimeConstantSeconds = 90;
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly double[] ClockSteps = [600, 1000, 1500, 1800];

    public static double TrueP95Ms(string variant, double mhz, double celsius) =>
        (variant == "fp32" ? 0.3 + 2400 / mhz : 0.1 + 900 / mhz) * (1 + 0.002 * (celsius - 40));

    /// <summary>Writes one device's log under root/device: a temperature sample and an inference summary every 10 s.</summary>
    public static async Task<long> WriteDeviceAsync(string root, string device, double ambientCelsius, int seed, TimeSpan duration)
    {
        var random = new Random(seed);
        var time = new VirtualTimeProvider(Start);
        await using var log = TelemetryLog.Open(new TelemetryLogOptions
        {
            Directory = Path.Combine(root, device), DeviceId = device, DeviceClass = DeviceClass, QueueCapacity = 1 << 16,
        }, time);
        double celsius = ambientCelsius, settle = ambientCelsius + 35;
        int samples = (int)(duration.TotalSeconds / 10);
        for (int i = 0; i < samples; i++)
        {
            double mhz = ClockSteps[random.Next(ClockSteps.Length)];
            string variant = i % 2 == 0 ? "fp32" : "int8";
            double p95 = TrueP95Ms(variant, mhz, celsius) * (1 + 0.02 * (random.NextDouble() - 0.5));
            Write(log, TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = celsius, Unit = "°C" }));
            Write(log, TelemetryRecord.For(new InferenceSummary
            {
                Variant = variant, WindowSeconds = 10, Count = 100, P95Ms = p95, MeanMs = p95 * 0.8, FrequencyMhz = mhz, Celsius = celsius, PowerWatts = 3 + mhz / 1000,
            }));
            time.Advance(TimeSpan.FromSeconds(10));
            celsius = settle + (celsius - settle) * Math.Exp(-10 / TimeConstantSeconds);
        }
        if (!await log.FlushAsync())
        {
            throw new IOException($"writing the synthetic log of {device} failed");
        }
        return log.Written;
    }

    private static void Write(TelemetryLog log, TelemetryRecord record)
    {
        if (!log.TryWrite(record))
        {
            throw new InvalidOperationException("synthetic telemetry queue overflowed");
        }
    }
}
