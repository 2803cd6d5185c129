using System.Text.Json;
using System.Runtime.InteropServices;

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
        string directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        string temporary = full + ".tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, new Stored(1, Segment, Sequence));
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, full, overwrite: true);
        SyncDirectory(directory);
    }

    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // .NET cannot open a directory as a file; some file systems cannot sync one, and then the rename is
        // still atomic, only its durability weaker.
        int descriptor = NativeFile.Open(directory, NativeFile.ReadOnlyDirectory);
        if (descriptor >= 0)
        {
            NativeFile.Fsync(descriptor);
            NativeFile.Close(descriptor);
        }
    }
}

internal static partial class NativeFile
{
    /// <summary>O_RDONLY, which opens a directory too (O_DIRECTORY differs between architectures).</summary>
    public const int ReadOnlyDirectory = 0;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int descriptor);
}
