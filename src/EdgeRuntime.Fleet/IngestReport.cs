namespace EdgeRuntime.Fleet;

/// <summary>What one ingest run read and stored.</summary>
public sealed record IngestReport(int Logs, long RecordsRead, long RecordsInserted, long Duplicates, long BytesLost, int CorruptBlocks, double Seconds)
{
    public double RecordsPerSecond => Seconds > 0 ? RecordsRead / Seconds : 0;
}
