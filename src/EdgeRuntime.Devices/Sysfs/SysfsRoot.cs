using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeRuntime.Devices.Sysfs;

/// <summary>
/// The directory that stands for "/" when reading kernel interfaces. On a board it is "/"; in tests and in the
/// simulated board it is a temporary tree with the same paths, so "/sys/class/thermal/..." and
/// "/proc/device-tree/model" move together. Every read returns a reading with a reason instead of throwing.
/// </summary>
public sealed partial class SysfsRoot
{
    public SysfsRoot(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        RootDirectory = Path.GetFullPath(rootDirectory);
    }

    /// <summary>The machine's own root.</summary>
    public static SysfsRoot Host { get; } = new("/");

    public string RootDirectory { get; }

    public bool IsHost => RootDirectory == "/";

    /// <summary>Maps an absolute board path ("/sys/class/thermal") to a path on this machine.</summary>
    public string Resolve(string boardPath)
    {
        if (!boardPath.StartsWith('/'))
        {
            throw new ArgumentException($"board paths are absolute (start with '/'): '{boardPath}'", nameof(boardPath));
        }
        return IsHost ? boardPath : Path.Join(RootDirectory, boardPath);
    }

    public bool Exists(string boardPath) => File.Exists(Resolve(boardPath)) || Directory.Exists(Resolve(boardPath));

    /// <summary>The file's text with surrounding whitespace and NULs trimmed (device-tree strings end in NUL).</summary>
    public Reading<string> ReadText(string boardPath)
    {
        try
        {
            string text = File.ReadAllText(Resolve(boardPath)).Trim().Trim('\0').Trim();
            return text.Length == 0 ? Reading<string>.Unavailable($"{boardPath} is empty") : Reading<string>.Ok(text);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Reading<string>.Unavailable($"{boardPath} does not exist");
        }
        catch (UnauthorizedAccessException)
        {
            return Reading<string>.Unavailable($"permission denied reading {boardPath}");
        }
        catch (IOException e)
        {
            // sysfs attributes fail reads with EIO / ENODATA when the sensor behind them is down.
            return Reading<string>.Unavailable($"I/O error reading {boardPath}: {e.Message}");
        }
    }

    /// <summary>A whole integer (sysfs units: millidegrees, kHz, microvolts ...).</summary>
    public Reading<long> ReadInteger(string boardPath)
    {
        var text = ReadText(boardPath);
        if (!text.TryGetValue(out string? value))
        {
            return Reading<long>.Unavailable(text.Reason!);
        }
        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number)
            ? Reading<long>.Ok(number)
            : Reading<long>.Unavailable($"{boardPath} holds '{Shorten(value)}', not an integer");
    }

    /// <summary>
    /// Board paths matching a pattern with '*' wildcards in any segment ("/sys/class/thermal/thermal_zone*"),
    /// in natural order (zone2 before zone10).
    /// </summary>
    public IReadOnlyList<string> Glob(string pattern)
    {
        if (!pattern.StartsWith('/'))
        {
            throw new ArgumentException($"board path patterns are absolute: '{pattern}'", nameof(pattern));
        }
        var current = new List<string> { "/" };
        foreach (string segment in pattern.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            var next = new List<string>();
            foreach (string directory in current)
            {
                if (!segment.Contains('*'))
                {
                    string candidate = directory.TrimEnd('/') + "/" + segment;
                    if (Exists(candidate))
                    {
                        next.Add(candidate);
                    }
                    continue;
                }
                string resolved = Resolve(directory);
                if (!Directory.Exists(resolved))
                {
                    continue;
                }
                try
                {
                    next.AddRange(Directory.EnumerateFileSystemEntries(resolved, segment)
                        .Select(p => directory.TrimEnd('/') + "/" + Path.GetFileName(p)));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // An unreadable directory has no matches; the caller reports the missing source.
                }
            }
            current = next;
        }
        current.Sort(NaturalCompare);
        return current;
    }

    /// <summary>Compares strings with runs of digits compared as numbers.</summary>
    public static int NaturalCompare(string? a, string? b)
    {
        var left = DigitRuns().Split(a ?? "");
        var right = DigitRuns().Split(b ?? "");
        for (int i = 0; i < Math.Min(left.Length, right.Length); i++)
        {
            int order = long.TryParse(left[i], out long x) && long.TryParse(right[i], out long y)
                ? x.CompareTo(y)
                : string.CompareOrdinal(left[i], right[i]);
            if (order != 0)
            {
                return order;
            }
        }
        return left.Length.CompareTo(right.Length);
    }

    internal static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "...";

    [GeneratedRegex(@"(\d+)")]
    private static partial Regex DigitRuns();
}
