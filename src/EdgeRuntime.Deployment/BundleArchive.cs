using System.Formats.Tar;
using System.Text;
using EdgeRuntime.Bundles;

namespace EdgeRuntime.Deployment;

/// <summary>Caps on what one archive may unpack to, so a hostile or broken one cannot fill the device.</summary>
public sealed record ArchiveLimits
{
    public long MaxTotalBytes { get; init; } = 2L << 30;
    public int MaxEntries { get; init; } = 1024;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTotalBytes, 1, nameof(MaxTotalBytes));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxEntries, 1, nameof(MaxEntries));
    }
}

/// <summary>
/// A bundle as it travels: one uncompressed ustar archive of the bundle directory (manifest.json, manifest.sig,
/// models, external data, reference checks), paths relative to the bundle. Every byte of it is accounted for
/// when read: headers carry a checksum, file contents are hashed by the signed manifest, and padding and the
/// end-of-archive blocks must be zero, so one changed byte anywhere is refused.
/// </summary>
public static class BundleArchive
{
    private const int Block = 512;

    /// <summary>Writes <paramref name="bundleDirectory"/> into a new archive (atomically).</summary>
    public static PackResult Pack(string bundleDirectory, string archivePath)
    {
        if (!File.Exists(Path.Combine(bundleDirectory, BundleManifest.FileName)))
        {
            throw new ArgumentException($"'{bundleDirectory}' is not a bundle: it has no {BundleManifest.FileName}");
        }
        var files = Directory.EnumerateFiles(bundleDirectory, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(bundleDirectory, path).Replace('\\', '/'))
            .Where(relative => !relative.Split('/').Any(part => AtomicFile.IsLeftover(part)))
            .Order(StringComparer.Ordinal)
            .ToList();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(archivePath))!);
        AtomicFile.Write(archivePath, stream =>
        {
            using var writer = new TarWriter(stream, TarEntryFormat.Ustar, leaveOpen: true);
            foreach (string relative in files)
            {
                writer.WriteEntry(Path.Combine(bundleDirectory, relative), relative);
            }
        });
        return new PackResult(Path.GetFullPath(archivePath), files.Count, new FileInfo(archivePath).Length);
    }

    /// <summary>
    /// Unpacks an archive into <paramref name="destination"/> (created, must not hold files), refusing absolute
    /// paths, "..", links and devices, duplicate entries, anything over the limits, and any byte outside a file's
    /// contents that is not where the format puts it. Files are synced to disk before this returns.
    /// </summary>
    /// <exception cref="DeploymentRefusedException">ArchiveCorrupt, naming the entry or offset.</exception>
    public static int Extract(string archivePath, string destination, ArchiveLimits limits)
    {
        using var stream = new FileStream(archivePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        CheckStructure(stream, limits);
        stream.Position = 0;
        Directory.CreateDirectory(destination);
        string root = Path.GetFullPath(destination) + Path.DirectorySeparatorChar;
        int files = 0;
        try
        {
            using var reader = new TarReader(stream, leaveOpen: true);
            while (reader.GetNextEntry() is { } entry)
            {
                string name = entry.Name;
                CheckName(name);
                string target = Path.GetFullPath(Path.Combine(root, name));
                if (!target.StartsWith(root, StringComparison.Ordinal))
                {
                    throw Corrupt($"entry '{name}' points outside the bundle");
                }
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        Directory.CreateDirectory(target);
                        break;
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                        using (var output = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                        {
                            entry.DataStream?.CopyTo(output);
                            output.Flush(flushToDisk: true);
                        }
                        files++;
                        break;
                    default:
                        throw Corrupt($"entry '{name}' is a {entry.EntryType}; a bundle archive holds only files and directories");
                }
            }
        }
        catch (IOException e) when (e is not FileNotFoundException && e.Message.Contains("exists", StringComparison.OrdinalIgnoreCase))
        {
            throw Corrupt($"the archive holds a file twice: {e.Message}");
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw Corrupt($"not a readable tar archive: {e.Message}");
        }
        return files;
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name.StartsWith('/') || name.Contains('\\') || name.Contains(':') || name.Contains('\0'))
        {
            throw Corrupt($"entry '{name}' is not a relative path");
        }
        if (name.TrimEnd('/').Split('/').Any(part => part is "" or "." or ".."))
        {
            throw Corrupt($"entry '{name}' has an empty, '.' or '..' path segment");
        }
    }

    /// <summary>
    /// Walks the archive block by block: each header's checksum, type (files, directories, pax records only),
    /// size, zero padding after the data, and only zero blocks after the end marker.
    /// </summary>
    private static void CheckStructure(Stream stream, ArchiveLimits limits)
    {
        long length = stream.Length;
        if (length == 0 || length % Block != 0)
        {
            throw Corrupt($"the archive is {length} bytes, not a whole number of {Block}-byte blocks (truncated?)");
        }
        var header = new byte[Block];
        long offset = 0, total = 0;
        int entries = 0;
        while (true)
        {
            if (offset + Block > length)
            {
                throw Corrupt("the archive ends without its end-of-archive blocks (truncated?)");
            }
            stream.Position = offset;
            stream.ReadExactly(header);
            if (header.All(b => b == 0))
            {
                break;
            }
            string name = Encoding.ASCII.GetString(header, 0, 100).TrimEnd('\0');
            if (!ChecksumMatches(header))
            {
                throw Corrupt($"header of entry '{name}' at byte {offset} fails its checksum");
            }
            char type = (char)header[156];
            if (type is not ('0' or '\0' or '5' or 'x'))
            {
                throw Corrupt($"entry '{name}' has type '{type}'; a bundle archive holds only files and directories");
            }
            if (++entries > limits.MaxEntries)
            {
                throw Corrupt($"the archive has more than {limits.MaxEntries} entries");
            }
            long size = ParseOctal(header.AsSpan(124, 12), name, offset);
            total += size;
            if (total > limits.MaxTotalBytes)
            {
                throw Corrupt($"the archive unpacks to more than {limits.MaxTotalBytes} bytes");
            }
            long dataEnd = offset + Block + size;
            long next = offset + Block + (size + Block - 1) / Block * Block;
            if (next > length)
            {
                throw Corrupt($"entry '{name}' claims {size} bytes but the archive ends first (truncated?)");
            }
            CheckZero(stream, dataEnd, next, $"padding after entry '{name}'");
            offset = next;
        }
        CheckZero(stream, offset, length, "the end of the archive");
    }

    private static void CheckZero(Stream stream, long from, long to, string what)
    {
        stream.Position = from;
        var buffer = new byte[Block];
        long at = from;
        while (at < to)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, to - at));
            if (read == 0)
            {
                break;
            }
            int nonZero = Array.FindIndex(buffer, 0, read, b => b != 0);
            if (nonZero >= 0)
            {
                throw Corrupt($"byte {at + nonZero} in {what} is not zero");
            }
            at += read;
        }
    }

    /// <summary>
    /// The checksum field itself is outside the sum, so its form is checked too: six octal digits, NUL, space
    /// (what tar and <see cref="TarWriter"/> write). A looser reading would let a flipped terminator byte through.
    /// </summary>
    private static bool ChecksumMatches(byte[] header)
    {
        long sum = 0;
        for (int i = 0; i < Block; i++)
        {
            sum += i is >= 148 and < 156 ? (byte)' ' : header[i];
        }
        string expected = Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ";
        return Encoding.ASCII.GetString(header, 148, 8) == expected;
    }

    private static long ParseOctal(ReadOnlySpan<byte> field, string name, long offset)
    {
        string text = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        if (text.Length == 0 || !text.All(c => c is >= '0' and <= '7'))
        {
            throw Corrupt($"entry '{name}' at byte {offset} has a size field that is not octal");
        }
        return Convert.ToInt64(text, 8);
    }

    private static DeploymentRefusedException Corrupt(string reason) => new(DeploymentRefusal.ArchiveCorrupt, "archive: " + reason);
}

public sealed record PackResult(string ArchivePath, int Files, long Bytes);
