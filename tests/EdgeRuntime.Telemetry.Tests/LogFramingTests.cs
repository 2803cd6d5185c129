namespace EdgeRuntime.Telemetry.Tests;

public sealed class LogFramingTests
{
    [Fact]
    public void Records_of_every_size_round_trip_across_blocks()
    {
        var payloads = LogFixtures.Payloads(60, seed: 1);
        payloads.Add(new byte[3 * LogFormat.BlockSize + 11]);
        payloads.Add([42]);
        var log = LogFixtures.Frame(payloads);
        var (records, reader) = LogFixtures.ReadAll(log);
        Assert.Equal(payloads.Count, records.Count);
        for (int i = 0; i < payloads.Count; i++)
        {
            Assert.Equal(payloads[i], records[i]);
        }
        Assert.Equal(0, reader.BytesLost);
        Assert.Equal(0, reader.CorruptBlocks);
    }

    [Fact]
    public void A_block_tail_too_short_for_a_header_is_padding_not_loss()
    {
        // First record leaves exactly 3 bytes in the block.
        var payloads = new List<byte[]> { new byte[LogFormat.BlockSize - LogFormat.HeaderSize - 3], new byte[] { 1, 2, 3 } };
        var log = LogFixtures.Frame(payloads);
        var (records, reader) = LogFixtures.ReadAll(log);
        Assert.Equal(2, records.Count);
        Assert.Equal(3, reader.PaddingBytes);
        Assert.Equal(0, reader.BytesLost);
    }

    [Fact]
    public void Truncating_at_every_byte_of_the_last_record_drops_only_that_record()
    {
        // The last record spans a block boundary, so cuts fall in its first fragment, the padding-free boundary and its last fragment.
        var payloads = LogFixtures.Payloads(12, seed: 2, maxLength: 2000);
        payloads.Add(new byte[LogFormat.BlockSize]);
        new Random(3).NextBytes(payloads[^1]);
        var full = LogFixtures.Frame(payloads);
        int lastStart = LogFixtures.Frame(payloads.Take(payloads.Count - 1)).Length;
        for (int cut = lastStart; cut < full.Length; cut++)
        {
            var (records, reader) = LogFixtures.ReadAll(full[..cut]);
            Assert.Equal(payloads.Count - 1, records.Count);
            Assert.Equal(payloads[^2], records[^1]);
            Assert.Equal(0, reader.CorruptBlocks);
            Assert.Equal(0, reader.CorruptBytes);
            Assert.Equal(cut - lastStart, reader.TornTailBytes + reader.PaddingBytes);
        }
        Assert.Equal(payloads.Count, LogFixtures.ReadAll(full).Records.Count);
    }

    [Fact]
    public void Flipping_every_bit_of_a_64_KiB_log_in_turn_never_throws_and_always_reports_loss()
    {
        // A clean log of exactly two blocks (no torn tail), so every flipped bit has something to be noticed against.
        var payloads = new List<byte[]>();
        foreach (var payload in LogFixtures.Payloads(400, seed: 4, maxLength: 300))
        {
            if (LogFixtures.Frame(payloads.Append(payload)).Length > 2 * LogFormat.BlockSize - LogFormat.HeaderSize)
            {
                break;
            }
            payloads.Add(payload);
        }
        int remaining = 2 * LogFormat.BlockSize - LogFixtures.Frame(payloads).Length;
        var filler = new byte[remaining - LogFormat.HeaderSize];
        new Random(40).NextBytes(filler);
        payloads.Add(filler);
        var log = LogFixtures.Frame(payloads);
        Assert.Equal(2 * LogFormat.BlockSize, log.Length);
        var (intact, intactReader) = LogFixtures.ReadAll(log);
        Assert.Equal(payloads.Count, intact.Count);
        Assert.Equal(0, intactReader.BytesLost);

        for (int offset = 0; offset < log.Length; offset++)
        {
            for (int bit = 0; bit < 8; bit++)
            {
                log[offset] ^= (byte)(1 << bit);
                var (records, reader) = LogFixtures.ReadAll(log);
                log[offset] ^= (byte)(1 << bit);
                if (reader.BytesLost == 0 || !IsInOrderSubsetOf(records, payloads))
                {
                    Assert.Fail($"bit {bit} of byte {offset}: {reader.BytesLost} bytes reported lost, {records.Count} records read" +
                        (IsInOrderSubsetOf(records, payloads) ? "" : ", one of them never written"));
                }
            }
        }
    }

    [Fact]
    public void A_zeroed_block_is_skipped_and_counted_and_later_blocks_still_read()
    {
        var payloads = LogFixtures.Payloads(300, seed: 5, maxLength: 400);
        var log = LogFixtures.Frame(payloads);
        Assert.True(log.Length > 3 * LogFormat.BlockSize);
        Array.Clear(log, LogFormat.BlockSize, LogFormat.BlockSize);
        var (records, reader) = LogFixtures.ReadAll(log);
        Assert.Equal(1, reader.CorruptBlocks);
        Assert.True(reader.CorruptBytes >= LogFormat.BlockSize);
        Assert.Equal(0, reader.TornTailBytes);
        Assert.Equal(payloads[^1], records[^1]);
        Assert.Equal(payloads[0], records[0]);
        Assert.True(IsInOrderSubsetOf(records, payloads));
    }

    [Fact]
    public void Flipped_bits_in_one_block_lose_only_that_block()
    {
        var payloads = LogFixtures.Payloads(300, seed: 6, maxLength: 400);
        var log = LogFixtures.Frame(payloads);
        log[LogFormat.BlockSize + 5000] ^= 0x10;
        var (records, reader) = LogFixtures.ReadAll(log);
        Assert.Equal(1, reader.CorruptBlocks);
        Assert.InRange(reader.CorruptBytes, 1, LogFormat.BlockSize + 400 + LogFormat.HeaderSize);
        Assert.True(IsInOrderSubsetOf(records, payloads));
        Assert.True(records.Count > payloads.Count * 2 / 3);
        Assert.Equal(payloads[^1], records[^1]);
    }

    [Fact]
    public void A_garbage_file_yields_no_records_and_all_bytes_lost()
    {
        var garbage = new byte[100_000];
        new Random(7).NextBytes(garbage);
        var (records, reader) = LogFixtures.ReadAll(garbage);
        Assert.Empty(records);
        Assert.Equal(garbage.Length, reader.BytesLost);
        Assert.True(reader.CorruptBlocks >= 3);
    }

    [Fact]
    public void An_empty_segment_is_clean()
    {
        var (records, reader) = LogFixtures.ReadAll([]);
        Assert.Empty(records);
        Assert.Equal(0, reader.BytesLost);
    }

    [Fact]
    public void Oversized_records_are_refused()
    {
        var writer = new LogBlockWriter(new MemoryStream());
        var e = Assert.Throws<ArgumentException>(() => writer.AddRecord(new byte[LogFormat.MaxRecordBytes + 1]));
        Assert.Contains("exceeds", e.Message);
    }

    /// <summary>Every record read is one that was written, in write order (no spliced or invented records).</summary>
    private static bool IsInOrderSubsetOf(List<byte[]> read, List<byte[]> written)
    {
        int next = 0;
        foreach (var record in read)
        {
            while (next < written.Count && !written[next].AsSpan().SequenceEqual(record))
            {
                next++;
            }
            if (next == written.Count)
            {
                return false;
            }
            next++;
        }
        return true;
    }
}
