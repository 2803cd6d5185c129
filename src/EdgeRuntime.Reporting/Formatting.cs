using System.Globalization;

namespace EdgeRuntime.Reporting;

/// <summary>Sizes, counts and percentages as the reports print them.</summary>
public static class Formatting
{
    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.#} KiB",
        _ => $"{bytes} B",
    };

    public static string Count(long? value) => value switch
    {
        null => "-",
        >= 1_000_000_000 => (value.Value / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G",
        >= 1_000_000 => (value.Value / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (value.Value / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
        _ => value.Value.ToString(CultureInfo.InvariantCulture),
    };

    public static string Percent(double? fraction) =>
        fraction is double f ? (f * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";
}
