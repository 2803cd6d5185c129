using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// What the telemetry log lost, kept next to its segments so the count survives restarts and a verifier can name
/// the gap. The file is allocated at full size when the log opens and rewritten in place, so recording a loss
/// needs no new disk blocks: it still works when the disk is full (the very moment losses happen).
/// </summary>
public sealed class TelemetryLossLedger
{
    public const string FileName = "lost-records.ledger";
    private const int FileBytes = 4096;
    private const int MaxRanges = 48;

    private readonly string _path;
    private LedgerState _state;

    private TelemetryLossLedger(string path, LedgerState state)
    {
        _path = path;
        _state = state;
    }

    /// <summary>Records whose write failed (their sequence numbers are in <see cref="Ranges"/>).</summary>
    public long LostToErrors => _state.LostToErrors;
    /// <summary>Records refused because the writer's queue was full (they never got sequence numbers).</summary>
    public long Dropped => _state.Dropped;
    public long Total => _state.LostToErrors + _state.Dropped;
    /// <summary>Sequence ranges (inclusive) lost to write errors, oldest first; only the newest are kept.</summary>
    public IReadOnlyList<long[]> Ranges => _state.Ranges;
    public string? LastError => _state.LastError;
    /// <summary>Whether the last change reached the disk (false while the disk refuses even the in-place rewrite).</summary>
    public bool Saved { get; private set; } = true;

    /// <summary>Reads the ledger of a log directory, or an empty one when there is none (or it cannot be read).</summary>
    public static TelemetryLossLedger Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        return new TelemetryLossLedger(path, TryLoad(path) ?? new LedgerState());
    }

    /// <summary>Opens the ledger for a writer: loads it and makes sure the file has its full size on disk.</summary>
    public static TelemetryLossLedger Open(string directory)
    {
        var ledger = Read(directory);
        if (!File.Exists(ledger._path) || new FileInfo(ledger._path).Length < FileBytes)
        {
            ledger.Save();
        }
        return ledger;
    }

    public void AddLost(long firstSequence, long lastSequence, string? error)
    {
        if (lastSequence < firstSequence)
        {
            return;
        }
        var ranges = _state.Ranges.ToList();
        if (ranges.Count > 0 && ranges[^1][1] + 1 >= firstSequence)
        {
            ranges[^1] = [ranges[^1][0], Math.Max(ranges[^1][1], lastSequence)];
        }
        else
        {
            ranges.Add([firstSequence, lastSequence]);
        }
        _state = _state with
        {
            LostToErrors = _state.LostToErrors + (lastSequence - firstSequence + 1),
            Ranges = [.. ranges.TakeLast(MaxRanges)],
            LastError = error ?? _state.LastError,
        };
        Save();
    }

    public void AddDropped(long count)
    {
        if (count <= 0)
        {
            return;
        }
        _state = _state with { Dropped = _state.Dropped + count };
        Save();
    }

    /// <summary>Writes the ledger over its own blocks; on failure it stays dirty and the next change tries again.</summary>
    public bool Save()
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(_state, Options);
        // Ranges are trimmed to fit; the counts are always kept.
        var state = _state;
        while (json.Length > FileBytes - 1 && state.Ranges.Length > 0)
        {
            state = state with { Ranges = state.Ranges[1..] };
            json = JsonSerializer.SerializeToUtf8Bytes(state, Options);
        }
        byte[] block = new byte[FileBytes];
        Array.Fill(block, (byte)' ');
        json.CopyTo(block, 0);
        block[^1] = (byte)'\n';
        try
        {
            using var file = new FileStream(_path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            file.Write(block);
            file.Flush(flushToDisk: true);
            Saved = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Saved = false;
        }
        return Saved;
    }

    private static LedgerState? TryLoad(string path)
    {
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }
            string text = File.ReadAllText(path).Trim();
            return text.Length == 0 ? null : JsonSerializer.Deserialize<LedgerState>(text, Options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private sealed record LedgerState
    {
        public long LostToErrors { get; init; }
        public long Dropped { get; init; }
        public long[][] Ranges { get; init; } = [];
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? LastError { get; init; }
    }
}
