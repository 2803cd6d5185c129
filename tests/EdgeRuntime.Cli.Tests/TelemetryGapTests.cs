using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert telemetry verify` after a disk-full episode: the records never written are named, not passed over.</summary>
public sealed class TelemetryGapTests
{
    [Fact]
    public async Task Verify_reports_records_lost_to_a_full_disk_and_exits_1()
    {
        string directory = Path.Combine(Path.GetTempPath(), "edgert-gap-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var disk = new FaultyDisk { Full = true };
            await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = directory, RetryInterval = TimeSpan.Zero }, createSegment: disk.Create))
            {
                // The first 414 records meet a full disk; the next 6 are written once space returns.
                for (int i = 0; i < 414; i++)
                {
                    Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "x", Value = i, Unit = "" })));
                }
                Assert.False(await log.FlushAsync());
                disk.Full = false;
                for (int i = 0; i < 6; i++)
                {
                    Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "x", Value = i, Unit = "" })));
                }
                Assert.True(await log.FlushAsync());
            }
            var result = await Cli.RunAsync("telemetry", "verify", directory);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("records missing  414 (sequence 1-414", result.Output);
            Assert.DoesNotContain("  clean", result.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
