using System.Text.Json;
using EdgeRuntime.Bundles;

namespace EdgeRuntime.Uplink;

/// <summary>
/// How far the uplink got: the last record the broker acknowledged (its sequence number) and the segment it
/// was read from, so a restart resumes there instead of at the start of the log.
/// </summary>
public sealed record UplinkCursor(long Segment, long Sequence)
{
    public static readonly UplinkCursor Start = new(0, 0);

    private sealed record Stored(int FormatVersion, long Segment, long Sequence);

    /// <summary>The saved cursor, or <see cref="Start"/> when there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a cursor (it is never silently reset: that would resend the whole log).</exception>
    public static UplinkCursor Load(string path)
    {
        if (!File.Exists(path))
        {
            return Start;
        }
        try
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllBytes(path));
            if (stored is not { FormatVersion: 1 } || stored.Segment < 0 || stored.Sequence < 0)
            {
                throw new InvalidDataException($"uplink cursor '{path}' is not a version 1 cursor with non-negative fields");
            }
            return new UplinkCursor(stored.Segment, stored.Sequence);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"uplink cursor '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>
    /// Writes the cursor so that a crash leaves either the old or the new one: a temporary file, synced, renamed
    /// over the old one, and the directory synced so the rename itself survives a power loss.
    /// </summary>
    public void Save(string path)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        AtomicFile.Write(full, stream => JsonSerializer.Serialize(stream, new Stored(1, Segment, Sequence)));
    }
}
