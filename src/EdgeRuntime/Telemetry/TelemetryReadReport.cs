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
    public bool Clean => BytesLost == 0;
}
