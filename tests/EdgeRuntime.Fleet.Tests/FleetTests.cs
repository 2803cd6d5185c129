using EdgeRuntime.Bench.FleetLoad;
using EdgeRuntime.Governance;
using EdgeRuntime.Numerics;
using EdgeRuntime.Telemetry;
using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Fleet.Tests;

public sealed class FleetTests
{
    private const double TrueTau = SyntheticFleet.TimeConstantSeconds;
    private static readonly DateTimeOffset Start = SyntheticFleet.Start;

    private static Task WriteDevice(string root, string device, double ambient, int seed, int samples = 240) =>
        SyntheticFleet.WriteDeviceAsync(root, device, ambient, seed, TimeSpan.FromSeconds(10 * samples));

    [Fact]
    public async Task Ingest_is_idempotent_by_device_and_sequence()
    {
        using var temp = new TempDirectory();
        await WriteDevice(temp.Path, "a", 20, 1, samples: 50);
        await WriteDevice(temp.Path, "b", 30, 2, samples: 50);
        string a = Path.Combine(temp.Path, "a"), b = Path.Combine(temp.Path, "b");
        using var store = FleetStore.Open(Path.Combine(temp.Path, "db", "fleet.duckdb"));
        var first = store.IngestLogs([a, b, a]);
        Assert.Equal(300, first.RecordsRead);
        Assert.Equal(200, first.RecordsInserted);
        Assert.Equal(100, first.Duplicates);
        var again = store.IngestLogs([a, b]);
        Assert.Equal(0, again.RecordsInserted);
        Assert.Equal(200, store.Count());
    }

    [Fact]
    public async Task Records_export_to_parquet_that_reads_back()
    {
        using var temp = new TempDirectory();
        await WriteDevice(temp.Path, "a", 20, 1, samples: 30);
        using var store = FleetStore.Open(":memory:");
        store.IngestLogs([Path.Combine(temp.Path, "a")]);
        string parquet = Path.Combine(temp.Path, "records.parquet");
        store.ExportParquet(parquet);
        var bytes = await File.ReadAllBytesAsync(parquet);
        Assert.Equal("PAR1"u8.ToArray(), bytes[..4]);
        Assert.Equal(60L, Convert.ToInt64(store.Scalar($"SELECT count(*) FROM read_parquet('{parquet}') WHERE device_id = 'a'"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Fitted_latency_predicts_held_out_devices_within_ten_percent_and_the_profile_is_accepted()
    {
        using var temp = new TempDirectory();
        for (int d = 0; d < 6; d++)
        {
            await WriteDevice(temp.Path, $"dev{d}", 15 + 3 * d, d);
        }
        using var store = FleetStore.Open(":memory:");
        store.IngestLogs(Enumerable.Range(0, 6).Select(d => Path.Combine(temp.Path, $"dev{d}")));
        var heldOut = new HashSet<string> { "dev4", "dev5" };
        var fitted = new ProfileFitter(store, new FakeTimeProvider(Start.AddDays(1))).Fit(SyntheticFleet.DeviceClass, heldOut);

        Assert.Equal(4, fitted.Profile.Provenance.Devices);
        Assert.Equal("fleet-fit", fitted.Profile.Provenance.Source);
        Assert.StartsWith("2026-03-01", fitted.Profile.Provenance.DataWindow);
        Assert.InRange(fitted.Profile.Provenance.FitError!.Value, 0, 0.05);
        Assert.InRange(fitted.TimeConstantSeconds!.Value, TrueTau * 0.9, TrueTau * 1.1);
        Assert.NotNull(fitted.Profile.Variants["fp32"].EnergyMillijoules);
        // These logs carry no service time: the fit falls back to response time and says so.
        Assert.False(fitted.FromServiceTime);
        Assert.Contains("response time", fitted.Profile.Provenance.Notes);

        // Held-out devices run hotter than any fitted one: the model must extrapolate in temperature.
        using var command = store.Connection.CreateCommand();
        command.CommandText = "SELECT variant, frequency_mhz, celsius, p95_ms FROM records WHERE kind = 'inference' AND device_id IN ('dev4', 'dev5')";
        using var reader = command.ExecuteReader();
        int checkedRows = 0;
        while (reader.Read())
        {
            double predicted = fitted.Latency[reader.GetString(0)].Predict(reader.GetDouble(1), reader.GetDouble(2));
            Assert.InRange(predicted / reader.GetDouble(3), 0.9, 1.1);
            checkedRows++;
        }
        Assert.Equal(480, checkedRows);

        var parsed = ProfileJson.Parse(ProfileJson.Serialize(fitted.Profile), "fitted");
        Assert.Equal(SyntheticFleet.DeviceClass, parsed.DeviceClass);
        Assert.Equal(2, parsed.Variants.Count);
    }

    [Fact]
    public async Task A_database_created_before_the_service_time_columns_gets_them_and_ingests()
    {
        using var temp = new TempDirectory();
        string database = temp.File("old.duckdb");
        using (var connection = new DuckDB.NET.Data.DuckDBConnection($"Data Source={database}"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE records (device_id VARCHAR NOT NULL, sequence BIGINT NOT NULL, unix_ms BIGINT NOT NULL, device_class VARCHAR NOT NULL,
                 kind VARCHAR NOT NULL, variant VARCHAR, window_seconds DOUBLE, request_count BIGINT, mean_ms DOUBLE, p95_ms DOUBLE,
                 frequency_mhz DOUBLE, celsius DOUBLE, power_watts DOUBLE, from_variant VARCHAR, to_variant VARCHAR, reason VARCHAR, detail VARCHAR,
                 sensor_name VARCHAR, sensor_value DOUBLE, sensor_unit VARCHAR, error_source VARCHAR, error_message VARCHAR, PRIMARY KEY (device_id, sequence));
                INSERT INTO records (device_id, sequence, unix_ms, device_class, kind) VALUES ('old', 1, 0, 'x', 'sensor');
                """;
            command.ExecuteNonQuery();
        }
        string log = temp.File("dev");
        await using (var writer = TelemetryLog.Open(new TelemetryLogOptions { Directory = log, DeviceId = "dev", DeviceClass = "x" }))
        {
            writer.TryWrite(TelemetryRecord.For(new InferenceSummary { Variant = "fp32", P95Ms = 9, ServiceMeanMs = 4.5, ServiceP95Ms = 5.5, QueueWaitMeanMs = 3 }));
        }
        using var store = FleetStore.Open(database);
        Assert.Equal(1, store.IngestLogs([log]).RecordsInserted);
        Assert.Equal(2L, store.Count());
        Assert.Equal(4.5, Convert.ToDouble(store.Scalar("SELECT service_mean_ms FROM records WHERE device_id = 'dev'"), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Energy_per_inference_is_fitted_from_the_logged_cpu_time_where_no_power_rail_reports()
    {
        using var temp = new TempDirectory();
        string log = temp.File("dev");
        (double Mhz, double Celsius, double ServiceMs)[] windows = [(1500, 50, 4), (1000, 55, 6), (750, 60, 8), (1500, 65, 4.2), (1000, 70, 6.3), (750, 52, 8.1)];
        await using (var writer = TelemetryLog.Open(new TelemetryLogOptions { Directory = log, DeviceId = "dev", DeviceClass = "raspberry-pi-4" }))
        {
            foreach (var (mhz, celsius, service) in windows)
            {
                writer.TryWrite(TelemetryRecord.For(new InferenceSummary
                {
                    Variant = "fp32", WindowSeconds = 10, Count = 100, MeanMs = service + 1, P95Ms = service * 1.3,
                    ServiceMeanMs = service, ServiceP95Ms = service * 1.2, FrequencyMhz = mhz, Celsius = celsius,
                    CpuMsPerInference = 2.0, Knobs = "1",
                }));
            }
        }
        using var store = FleetStore.Open(":memory:");
        store.IngestLogs([log]);
        Assert.Equal("1", Convert.ToString(store.Scalar("SELECT DISTINCT knobs FROM records WHERE kind = 'inference'"), System.Globalization.CultureInfo.InvariantCulture));
        var cost = new ProfileFitter(store).Fit("raspberry-pi-4").Profile.Variants["fp32"];
        // 2 ms of CPU per inference at the Pi 4's 1 W per busy core (4 W over 4 cores at 1500 MHz), scaled by the square of the clock.
        double expected = windows.Average(w => 2.0 * Math.Pow(w.Mhz / 1500, 2));
        Assert.Null(cost.BusyPowerWatts);
        Assert.Equal(expected, cost.EnergyMillijoules!.Value, 9);
    }

    [Fact]
    public void Fitting_a_class_without_data_names_it()
    {
        using var store = FleetStore.Open(":memory:");
        var e = Assert.Throws<InvalidDataException>(() => new ProfileFitter(store).Fit("nowhere-board"));
        Assert.Contains("nowhere-board", e.Message);
    }

    [Fact]
    public void Least_squares_recovers_exact_coefficients_and_refuses_degenerate_data()
    {
        var rows = new List<double[]>();
        var targets = new List<double>();
        for (int i = 0; i < 20; i++)
        {
            rows.Add([1, i, i * i % 7]);
            targets.Add(2 + 3 * i - 0.5 * (i * i % 7));
        }
        var fit = LeastSquares.Fit(rows, targets)!;
        Assert.Equal(2, fit[0], 6);
        Assert.Equal(3, fit[1], 6);
        Assert.Equal(-0.5, fit[2], 6);
        Assert.Null(LeastSquares.Fit([[1, 2], [1, 2], [1, 2]], [1, 2, 3]));
        Assert.Null(ThermalFit.TimeConstantSeconds([(0, 20), (1, 21)]));
    }
}
