using EdgeRuntime.Bench.FleetLoad;
using EdgeRuntime.Fleet;

namespace EdgeRuntime.Fleet.Tests;

/// <summary>The entry points `edgert fleet ingest|fit` and `telemetry verify|export` call.</summary>
public sealed class FleetEntryPointTests
{
    [Fact]
    public void Log_roots_that_are_missing_or_hold_no_segments_are_named()
    {
        using var temp = new TempDirectory();
        var missing = Assert.Throws<ArgumentException>(() => FleetIngestion.FindLogs([temp.File("nowhere")]));
        Assert.Contains("is not a directory", missing.Message);
        var empty = Assert.Throws<ArgumentException>(() => FleetIngestion.FindLogs([temp.Path]));
        Assert.Contains("holds no telemetry segments", empty.Message);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => FleetFit.Run(temp.File("none.duckdb"), null, temp.File("out"))).Message);
        Assert.Contains("does not exist", Assert.Throws<ArgumentException>(() => TelemetryLogCheck.Verify(temp.File("nowhere"))).Message);
    }

    [Fact]
    public async Task Logs_are_verified_exported_and_ingested_once()
    {
        using var temp = new TempDirectory();
        string logs = temp.File("logs");
        long written = 0;
        foreach (string device in new[] { "pi-a", "pi-b" })
        {
            written += await SyntheticFleet.WriteDeviceAsync(logs, device, 25, device.Length, TimeSpan.FromMinutes(5));
        }
        Assert.Equal([Path.Combine(logs, "pi-a"), Path.Combine(logs, "pi-b")], FleetIngestion.FindLogs([logs]));

        var verified = TelemetryLogCheck.Verify(Path.Combine(logs, "pi-a"));
        Assert.True(verified.Clean);
        using var lines = new StringWriter();
        var exported = TelemetryLogCheck.Export(Path.Combine(logs, "pi-a"), lines);
        Assert.Equal(verified.Records, lines.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(verified.Records, exported.Records);

        var first = FleetIngestion.FromLogs([logs], temp.File("fleet.duckdb"), null);
        Assert.Equal(written, first.RecordsInserted);
        var second = FleetIngestion.FromLogs([logs], temp.File("fleet.duckdb"), null);
        Assert.Equal(0, second.RecordsInserted);
        Assert.Equal(written, second.Duplicates);
        Assert.Equal(written, second.TotalRecords);
    }
}
