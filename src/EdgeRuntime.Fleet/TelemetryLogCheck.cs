using System.Text.Json;
using EdgeRuntime.Reporting;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Fleet;

/// <summary>What reading a device telemetry log found: intact records and what was lost.</summary>
public sealed record TelemetryLogReport(string Directory, int Segments, long Records, long TotalBytes, long BytesLost, long CorruptBytes,
    long TornTailBytes, int CorruptBlocks, long UndecodableRecords, long? FirstSequence, long? LastSequence, bool Clean,
    long MissingRecords = 0, string[]? MissingRanges = null, long DroppedRecords = 0)
{
    public void WriteText(TextWriter output)
    {
        output.WriteLine($"{Directory}: {Segments} segments, {TotalBytes} bytes");
        output.WriteLine($"  records read     {Records} (sequence {FirstSequence?.ToString() ?? "-"} to {LastSequence?.ToString() ?? "-"})");
        output.WriteLine($"  bytes lost       {BytesLost} (corrupt {CorruptBytes}, torn tail {TornTailBytes})");
        output.WriteLine($"  corrupt blocks   {CorruptBlocks}");
        output.WriteLine($"  undecodable      {UndecodableRecords}");
        output.WriteLine($"  records missing  {MissingRecords}{(MissingRecords > 0 ? $" (sequence {string.Join(", ", MissingRanges!.Take(10))}{(MissingRanges!.Length > 10 ? ", ..." : "")}: lost by the writer, e.g. a full disk)" : "")}");
        output.WriteLine($"  dropped (queue)  {DroppedRecords}");
        output.WriteLine(Clean ? "  clean" : "  damaged: the records above were recovered, the bytes lost were not");
    }
}

/// <summary>`edgert telemetry verify` and `export`: every segment of a log read, the intact records optionally written as JSON lines.</summary>
public static class TelemetryLogCheck
{
    private static readonly JsonSerializerOptions LineOptions = new(ReportJson.Options) { WriteIndented = false, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static TelemetryLogReport Verify(string directory) => Read(directory, null);

    /// <summary>Reads the log and writes each intact record as one JSON line to <paramref name="lines"/>.</summary>
    public static TelemetryLogReport Export(string directory, TextWriter lines) => Read(directory, record => lines.WriteLine(JsonSerializer.Serialize(record, LineOptions)));

    private static TelemetryLogReport Read(string directory, Action<TelemetryRecord>? onRecord)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ArgumentException($"telemetry log directory '{directory}' does not exist");
        }
        var r = TelemetryLogReader.ReadDirectory(directory, onRecord);
        return new(directory, r.Segments, r.Records, r.TotalBytes, r.BytesLost, r.CorruptBytes, r.TornTailBytes, r.CorruptBlocks, r.UndecodableRecords,
            r.FirstSequence, r.LastSequence, r.Clean, r.MissingRecords, [.. r.MissingRanges.Select(m => m.ToString())], r.DroppedRecords);
    }
}
