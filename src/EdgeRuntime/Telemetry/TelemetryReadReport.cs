namespace EdgeRuntime.Telemetry;

/// <summary>What reading a log found: intact records and what was lost, by cause.</summary>
public sealed record TelemetryReadReport
{
    public int Segments { get; init; }
    public long Records { get; init; }
    public long TotalBytes { get; init; }
    /// <summary>Bytes not recovered: corrupt + torn tail + undecodable.</summary>
    public long BytesLost => CorruptBytes + TornTailBytes + UndecodableBytes;
    public long CorruptBytes { get; init; }
    public long TornTailBytes { get; init; }
    public int CorruptBlocks { get; init; }
    /// <summary>Records whose checksum held but whose payload is not a telemetry record (e.g. from a newer, incompatible writer).</summary>
    public long UndecodableRecords { get; init; }
    public long UndecodableBytes { get; init; }
    public long? FirstSequence { get; init; }
    public long? LastSequence { get; init; }
    /// <summary>Sequence numbers that were spent but whose records are not in the log: gaps between records, and
    /// ranges the writer's ledger says it lost (a disk-full episode). Inclusive ranges, oldest first.</summary>
    public IReadOnlyList<SequenceRange> MissingRanges { get; init; } = [];
    public long MissingRecords => MissingRanges.Sum(r => r.Count);
    /// <summary>Records the writer refused because its queue was full (from the ledger; they never got numbers).</summary>
    public long DroppedRecords { get; init; }
    public bool Clean => BytesLost == 0 && MissingRecords == 0 && DroppedRecords == 0;
}

/// <summary>Sequence numbers <see cref="First"/> to <see cref="Last"/>, both included.</summary>
public readonly record struct SequenceRange(long First, long Last)
{
    public long Count => Last - First + 1;
    public override string ToString() => First == Last ? $"{First}" : $"{First}-{Last}";
}
