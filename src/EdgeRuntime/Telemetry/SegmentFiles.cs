using System.Globalization;

namespace EdgeRuntime.Telemetry;

/// <summary>Naming of segment files: an increasing eight-digit number, so name order is write order.</summary>
public static class SegmentFiles
{
    public const string Extension = ".tlog";

    public static string NameOf(long number) => number.ToString("D8", CultureInfo.InvariantCulture) + Extension;

    /// <summary>Segments in the directory, oldest first; other files are ignored.</summary>
    public static IReadOnlyList<(long Number, string Path)> List(string directory)
    {
        var segments = new List<(long, string)>();
        foreach (string path in System.IO.Directory.EnumerateFiles(directory, "*" + Extension))
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            if (stem.Length == 8 && long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out long number))
            {
                segments.Add((number, path));
            }
        }
        segments.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return segments;
    }
}
