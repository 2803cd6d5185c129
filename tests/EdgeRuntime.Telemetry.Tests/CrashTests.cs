using System.Diagnostics;
using EdgeRuntime.Bench.Durability;

namespace EdgeRuntime.Telemetry.Tests;

public sealed class CrashTests
{
    private static ProcessStartInfo Writer(string directory, int seed) =>
        SiblingProgram.Start("EdgeRuntime.Telemetry.CrashWriter", directory, seed.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Two_hundred_SIGKILLs_lose_no_record_acknowledged_durable_and_accept_no_corrupt_one()
    {
        using var temp = new TempDirectory();
        var report = CrashTest.Run(temp.Path, Writer, kills: 200, seed: 11, maxKillDelay: TimeSpan.FromMilliseconds(150));
        Assert.Empty(report.Problems);
        // The test means something only if the writers got records acknowledged between kills.
        Assert.True(report.RecordsAcknowledged > 1000, $"only {report.RecordsAcknowledged} records acknowledged");
        Assert.Equal(0, report.LostAcknowledged);
        Assert.Equal(0, report.CorruptAccepted);
        Assert.Equal(0, report.OutOfOrder);
        Assert.Equal(0, report.CorruptBytes);
        Assert.True(report.RecordsRecovered >= report.RecordsAcknowledged);
        Assert.True(report.Segments >= 200);
    }

    [Fact]
    public void The_check_catches_a_lost_acknowledged_record_and_a_forged_one()
    {
        using var temp = new TempDirectory();
        var framed = new MemoryStream();
        var writer = new LogBlockWriter(framed);
        foreach (long sequence in new long[] { 1, 2, 4 })
        {
            var record = CrashWriter.RecordFor(sequence);
            record.Sequence = sequence;
            record.DeviceId = CrashWriter.DeviceId;
            writer.AddRecord(TelemetryCodec.Encode(record));
        }
        var forged = CrashWriter.RecordFor(5);
        forged.Sequence = 6;
        forged.DeviceId = CrashWriter.DeviceId;
        writer.AddRecord(TelemetryCodec.Encode(forged));
        File.WriteAllBytes(Path.Combine(temp.Path, SegmentFiles.NameOf(1)), framed.ToArray());

        var report = CrashTest.Verify(temp.Path, kills: 0, acknowledged: 4, seconds: 0, problems: []);
        Assert.Equal(1, report.LostAcknowledged);
        Assert.Equal(1, report.CorruptAccepted);
        Assert.False(report.Passed);
    }
}
