namespace EdgeRuntime.Telemetry;

/// <summary>Reads every record of a telemetry log directory or of a single segment, counting what was lost.</summary>
public static class TelemetryLogReader
{
    public static TelemetryReadReport ReadDirectory(string directory, Action<TelemetryRecord>? onRecord = null)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"telemetry log directory '{directory}' does not exist");
        }
        var total = new TelemetryReadReport();
        var sequences = new List<long>();
        void Collect(TelemetryRecord record)
        {
            sequences.Add(record.Sequence);
            onRecord?.Invoke(record);
        }
        foreach (var (_, path) in SegmentFiles.List(directory))
        {
            TelemetryReadReport segment;
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                segment = ReadSegment(stream, Collect);
            }
            catch (FileNotFoundException)
            {
                // Evicted by a running writer between listing and opening.
                continue;
            }
            total = Combine(total, segment);
        }
        var ledger = TelemetryLossLedger.Read(directory);
        return total with { MissingRanges = Missing(sequences, ledger), DroppedRecords = ledger.Dropped };
    }

    /// <summary>Gaps between the records read, and the ledger's lost ranges less any record that did reach the disk.</summary>
    private static List<SequenceRange> Missing(List<long> sequences, TelemetryLossLedger ledger)
    {
        sequences.Sort();
        var missing = new List<SequenceRange>();
        for (int i = 1; i < sequences.Count; i++)
        {
            if (sequences[i] > sequences[i - 1] + 1)
            {
                missing.Add(new SequenceRange(sequences[i - 1] + 1, sequences[i] - 1));
            }
        }
        foreach (var range in ledger.Ranges)
        {
            long next = range[0];
            int at = sequences.BinarySearch(next);
            at = at < 0 ? ~at : at;
            for (; at < sequences.Count && sequences[at] <= range[1]; at++)
            {
                if (sequences[at] > next)
                {
                    missing.Add(new SequenceRange(next, sequences[at] - 1));
                }
                next = sequences[at] + 1;
            }
            if (next <= range[1])
            {
                missing.Add(new SequenceRange(next, range[1]));
            }
        }
        missing.Sort((a, b) => a.First.CompareTo(b.First));
        var merged = new List<SequenceRange>();
        foreach (var range in missing)
        {
            if (merged.Count > 0 && range.First <= merged[^1].Last + 1)
            {
                merged[^1] = new SequenceRange(merged[^1].First, Math.Max(merged[^1].Last, range.Last));
            }
            else
            {
                merged.Add(range);
            }
        }
        return merged;
    }

    public static TelemetryReadReport ReadSegment(Stream stream, Action<TelemetryRecord>? onRecord = null)
    {
        var reader = new LogBlockReader(stream);
        long undecodable = 0, undecodableBytes = 0, records = 0, totalBytes = 0;
        long? first = null, last = null;
        while (reader.ReadRecord() is byte[] bytes)
        {
            var record = TelemetryCodec.TryDecode(bytes);
            if (record is null)
            {
                undecodable++;
                undecodableBytes += bytes.Length + LogFormat.HeaderSize;
                continue;
            }
            records++;
            first = first is null ? record.Sequence : Math.Min(first.Value, record.Sequence);
            last = last is null ? record.Sequence : Math.Max(last.Value, record.Sequence);
            onRecord?.Invoke(record);
        }
        totalBytes = reader.AcceptedBytes + reader.PaddingBytes + reader.CorruptBytes + reader.TornTailBytes;
        return new TelemetryReadReport
        {
            Segments = 1,
            Records = records,
            TotalBytes = totalBytes,
            CorruptBytes = reader.CorruptBytes,
            TornTailBytes = reader.TornTailBytes,
            CorruptBlocks = reader.CorruptBlocks,
            UndecodableRecords = undecodable,
            UndecodableBytes = undecodableBytes,
            FirstSequence = first,
            LastSequence = last,
        };
    }

    private static TelemetryReadReport Combine(TelemetryReadReport a, TelemetryReadReport b) => new()
    {
        Segments = a.Segments + b.Segments,
        Records = a.Records + b.Records,
        TotalBytes = a.TotalBytes + b.TotalBytes,
        CorruptBytes = a.CorruptBytes + b.CorruptBytes,
        TornTailBytes = a.TornTailBytes + b.TornTailBytes,
        CorruptBlocks = a.CorruptBlocks + b.CorruptBlocks,
        UndecodableRecords = a.UndecodableRecords + b.UndecodableRecords,
        UndecodableBytes = a.UndecodableBytes + b.UndecodableBytes,
        FirstSequence = Min(a.FirstSequence, b.FirstSequence),
        LastSequence = Max(a.LastSequence, b.LastSequence),
    };

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
    private static long? Max(long? a, long? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);
}
