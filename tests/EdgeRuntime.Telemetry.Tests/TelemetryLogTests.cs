using Microsoft.Extensions.Time.Testing;

namespace EdgeRuntime.Telemetry.Tests;

public sealed class TelemetryLogTests
{
    private static TelemetryRecord Summary(int i) => TelemetryRecord.For(new InferenceSummary
    {
        Variant = i % 2 == 0 ? "fp32" : "int8", WindowSeconds = 1, Count = i, MeanMs = 1.5 + i, P95Ms = 2.5 + i, Celsius = 50, FrequencyMhz = 1500,
    });

    private static List<TelemetryRecord> ReadAll(string directory, out TelemetryReadReport report)
    {
        var records = new List<TelemetryRecord>();
        report = TelemetryLogReader.ReadDirectory(directory, records.Add);
        return records;
    }

    [Fact]
    public async Task Records_of_every_kind_round_trip_with_contiguous_sequence_numbers_across_reopen()
    {
        using var temp = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var options = new TelemetryLogOptions { Directory = temp.Path, DeviceId = "pi-7", DeviceClass = "raspberry-pi-4", SegmentBytes = 64 * 1024, MaxTotalBytes = 64 * 1024 * 1024 };
        await using (var log = TelemetryLog.Open(options, time))
        {
            for (int i = 0; i < 3000; i++)
            {
                Assert.True(log.TryWrite(Summary(i)));
            }
            Assert.True(log.TryWrite(TelemetryRecord.For(new SwitchRecord { From = "fp32", To = "int8", Reason = "ThermalPredicted", Detail = "72 °C predicted" })));
            Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "soc_celsius", Value = 61.5, Unit = "°C" })));
            Assert.True(log.TryWrite(TelemetryRecord.For(new TelemetryError { Source = "variant int4", Message = "failed to load" })));
            Assert.True(await log.FlushAsync());
            Assert.Equal(3003, log.DurableSequence);
        }
        await using (var log = TelemetryLog.Open(options, time))
        {
            log.TryWrite(Summary(1));
        }
        var records = ReadAll(temp.Path, out var report);
        Assert.True(report.Clean);
        Assert.True(report.Segments > 2);
        Assert.Equal(Enumerable.Range(1, 3004).Select(i => (long)i), records.Select(r => r.Sequence));
        Assert.All(records, r => Assert.Equal("pi-7", r.DeviceId));
        Assert.All(records, r => Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), r.UnixTimeMilliseconds));
        Assert.Equal("ThermalPredicted", records[3000].Switch!.Reason);
        Assert.Equal(61.5, records[3001].Sensor!.Value);
        Assert.Equal("failed to load", records[3002].Error!.Message);
        Assert.Equal(2999 + 2.5, records[2999].Inference!.P95Ms);
    }

    [Fact]
    public async Task The_oldest_segments_are_evicted_to_bound_the_total_size()
    {
        using var temp = new TempDirectory();
        var options = new TelemetryLogOptions { Directory = temp.Path, SegmentBytes = LogFormat.BlockSize, MaxTotalBytes = 3 * LogFormat.BlockSize };
        await using (var log = TelemetryLog.Open(options))
        {
            for (int i = 0; i < 5000; i++)
            {
                log.TryWrite(Summary(i));
                if (i % 500 == 0)
                {
                    await log.FlushAsync();
                }
            }
            await log.FlushAsync();
            Assert.True(log.EvictedSegments > 5);
        }
        long total = SegmentFiles.List(temp.Path).Sum(s => new FileInfo(s.Path).Length);
        Assert.True(total <= options.MaxTotalBytes + LogFormat.BlockSize, $"{total} bytes on disk");
        var records = ReadAll(temp.Path, out var report);
        Assert.True(report.Clean);
        Assert.Equal(5000, records[^1].Sequence);
        // What is left is the newest stretch, without gaps.
        Assert.Equal(Enumerable.Range((int)records[0].Sequence, records.Count).Select(i => (long)i), records.Select(r => r.Sequence));
    }

    [Fact]
    public async Task A_full_queue_drops_and_counts_instead_of_waiting()
    {
        using var temp = new TempDirectory();
        using var gate = new ManualResetEventSlim(false);
        var options = new TelemetryLogOptions { Directory = temp.Path, QueueCapacity = 4 };
        // The disk stalls: the writer blocks opening its first segment until the gate opens.
        var log = TelemetryLog.Open(options, createSegment: path =>
        {
            gate.Wait();
            return new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        });
        int accepted = 0;
        for (int i = 0; i < 100; i++)
        {
            accepted += log.TryWrite(Summary(i)) ? 1 : 0;
        }
        Assert.InRange(accepted, 4, 5);
        Assert.Equal(100 - accepted, log.Dropped);
        gate.Set();
        await log.DisposeAsync();
        Assert.Equal(accepted, ReadAll(temp.Path, out _).Count);
    }

    [Fact]
    public async Task Failing_the_ith_write_for_every_i_leaves_a_readable_log_that_loses_only_what_was_reported()
    {
        const int Records = 40;
        int totalWrites;
        using (var temp = new TempDirectory())
        {
            var counter = new FailingStream.Counter(failAt: int.MaxValue);
            await WriteThroughFailures(temp.Path, counter);
            totalWrites = counter.Writes;
        }
        Assert.True(totalWrites > Records);
        for (int failAt = 1; failAt <= totalWrites; failAt++)
        {
            using var temp = new TempDirectory();
            var counter = new FailingStream.Counter(failAt);
            var log = await WriteThroughFailures(temp.Path, counter);
            Assert.True(counter.Fired);
            Assert.Equal(1, log.WriteErrors);
            var records = ReadAll(temp.Path, out var report);
            Assert.Equal(0, report.CorruptBlocks);
            Assert.True(records.Count >= Records - log.LostToErrors, $"failing write {failAt}: {records.Count} records, {log.LostToErrors} reported lost");
            Assert.Equal(records.Select(r => r.Sequence).Distinct().Count(), records.Count);
            // Each record read is one that was written, intact, and none twice.
            Assert.All(records, r => Assert.Equal(1.5 + r.Inference!.Count, r.Inference.MeanMs));
            Assert.Equal(records.Count, records.Select(r => r.Inference!.Count).Distinct().Count());
        }

        static async Task<TelemetryLog> WriteThroughFailures(string directory, FailingStream.Counter counter)
        {
            var options = new TelemetryLogOptions { Directory = directory, SyncPolicy = TelemetrySyncPolicy.EveryBatch };
            var log = TelemetryLog.Open(options, createSegment: path => new FailingStream(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1), counter));
            for (int i = 0; i < Records; i++)
            {
                log.TryWrite(Summary(i));
                if (i % 10 == 9)
                {
                    await log.FlushAsync();
                }
            }
            await log.DisposeAsync();
            return log;
        }
    }

    [Fact]
    public async Task A_crash_that_tears_the_last_record_keeps_every_earlier_one()
    {
        using var temp = new TempDirectory();
        await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = temp.Path }))
        {
            for (int i = 0; i < 50; i++)
            {
                log.TryWrite(Summary(i));
            }
        }
        string segment = SegmentFiles.List(temp.Path).Single().Path;
        var bytes = await File.ReadAllBytesAsync(segment);
        var framed = new MemoryStream();
        new LogBlockWriter(framed).AddRecord(TelemetryCodec.Encode(Summary(49)));
        int lastLength = (int)framed.Length + 20;
        for (int cut = bytes.Length - lastLength; cut < bytes.Length; cut++)
        {
            await File.WriteAllBytesAsync(segment, bytes[..cut]);
            var records = ReadAll(temp.Path, out var report);
            Assert.Equal(0, report.CorruptBlocks);
            Assert.InRange(records.Count, 49, 50);
            Assert.Equal(Enumerable.Range(1, records.Count).Select(i => (long)i), records.Select(r => r.Sequence));
        }
        // After the crash the log reopens and continues after the last intact record.
        await File.WriteAllBytesAsync(segment, bytes[..^3]);
        await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = temp.Path }))
        {
            Assert.Equal(49, log.LastSequence);
            log.TryWrite(Summary(0));
        }
        var after = ReadAll(temp.Path, out var afterReport);
        Assert.Equal(50, after[^1].Sequence);
        Assert.Equal(0, afterReport.CorruptBlocks);
    }

    [Fact]
    public void Bad_options_are_refused_with_the_setting_named()
    {
        Assert.Contains("SegmentBytes", Assert.Throws<ArgumentException>(() => TelemetryLog.Open(new TelemetryLogOptions { Directory = "x", SegmentBytes = 10 })).Message);
        Assert.Contains("MaxTotalBytes", Assert.Throws<ArgumentException>(() => new TelemetryLogOptions { Directory = "x", MaxTotalBytes = 1 }.Validate()).Message);
        Assert.Contains("QueueCapacity", Assert.Throws<ArgumentException>(() => new TelemetryLogOptions { Directory = "x", QueueCapacity = 0 }.Validate()).Message);
        Assert.Contains("Directory", Assert.Throws<ArgumentException>(() => new TelemetryLogOptions { Directory = " " }.Validate()).Message);
    }

    [Fact]
    public void Reading_a_missing_directory_names_it()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => TelemetryLogReader.ReadDirectory("/nonexistent/telemetry"));
        Assert.Contains("/nonexistent/telemetry", e.Message);
    }

    [Fact]
    public void Undecodable_payloads_with_valid_checksums_are_counted_not_thrown()
    {
        var stream = new MemoryStream();
        var writer = new LogBlockWriter(stream);
        writer.AddRecord(TelemetryCodec.Encode(Summary(1)));
        writer.AddRecord([0xC1, 0x00, 0xFF]);
        writer.AddRecord(TelemetryCodec.Encode(new TelemetryRecord { Kind = TelemetryRecordKind.Sensor }));
        stream.Position = 0;
        var report = TelemetryLogReader.ReadSegment(stream);
        Assert.Equal(1, report.Records);
        Assert.Equal(2, report.UndecodableRecords);
        Assert.True(report.BytesLost > 0);
    }
}
