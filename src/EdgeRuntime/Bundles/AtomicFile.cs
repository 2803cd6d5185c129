using System.Runtime.InteropServices;
using System.Text;

namespace EdgeRuntime.Bundles;

/// <summary>
/// Write-to-temporary, flush to disk, rename, sync the directory: readers see the old file or the new one, and
/// after a power loss the rename is there too.
/// </summary>
public static partial class AtomicFile
{
    public static void WriteAllText(string path, string text) => WriteAllBytes(path, Encoding.UTF8.GetBytes(text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, stream => stream.Write(bytes));

    public static void Copy(string source, string destination) => Write(destination, stream =>
    {
        using var input = File.OpenRead(source);
        input.CopyTo(stream);
    });

    public static void Write(string path, Action<Stream> fill)
    {
        string fullPath = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(fullPath)!;
        string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fill(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, fullPath, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // The original failure is the one worth reporting.
            }
            throw;
        }
        SyncDirectory(directory);
    }

    /// <summary>True for the temporary files <see cref="Write"/> leaves behind when killed mid-write.</summary>
    public static bool IsLeftover(string fileName) => fileName.StartsWith('.') && fileName.EndsWith(".tmp", StringComparison.Ordinal);

    /// <summary>
    /// Makes renames and new entries in <paramref name="directory"/> durable. .NET cannot open a directory as a
    /// file; some file systems cannot sync one, and then the rename is still atomic, only its durability weaker.
    /// </summary>
    public static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        // O_RDONLY opens a directory too (O_DIRECTORY differs between architectures).
        int descriptor = Open(directory, 0);
        if (descriptor >= 0)
        {
            Fsync(descriptor);
            Close(descriptor);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int descriptor);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
