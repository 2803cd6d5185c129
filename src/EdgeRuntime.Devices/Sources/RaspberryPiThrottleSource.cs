using System.Globalization;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>
/// Raspberry Pi firmware throttle flags: the firmware driver's get_throttled node (hex), or
/// `vcgencmd get_throttled` ("throttled=0x50005") when the node is missing.
/// </summary>
public sealed class RaspberryPiThrottleSource(SysfsRoot root, IReadOnlyList<string> sysfsPaths, ICommandRunner? vcgencmd) : ISensorSource
{
    private const int KnownBits = 0x000F000F;

    public string Name => "throttle";

    public void ReadInto(DeviceSnapshotBuilder snapshot) => snapshot.SetThrottle(Read());

    private Reading<ThrottleFlags> Read()
    {
        string? node = sysfsPaths.SelectMany(p => p.Contains('*') ? root.Glob(p) : root.Exists(p) ? [p] : []).FirstOrDefault();
        if (node is not null)
        {
            var text = root.ReadText(node);
            return text.TryGetValue(out string? value) ? Parse(value, node) : Reading<ThrottleFlags>.Unavailable(text.Reason!);
        }
        string noNode = $"no get_throttled node ({string.Join(", ", sysfsPaths)})";
        if (vcgencmd is null)
        {
            return Reading<ThrottleFlags>.Unavailable(noNode);
        }
        var output = vcgencmd.Run("vcgencmd", "get_throttled");
        if (!output.TryGetValue(out string? line))
        {
            return Reading<ThrottleFlags>.Unavailable($"{noNode}, and {output.Reason}");
        }
        line = line.Trim();
        return line.StartsWith("throttled=", StringComparison.Ordinal)
            ? Parse(line["throttled=".Length..], "vcgencmd get_throttled")
            : Reading<ThrottleFlags>.Unavailable($"vcgencmd get_throttled printed '{SysfsRoot.Shorten(line)}', expected throttled=0x...");
    }

    /// <summary>Parses the hex bit field, with or without 0x.</summary>
    public static Reading<ThrottleFlags> Parse(string text, string source)
    {
        string hex = text.Trim();
        hex = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (!int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int bits))
        {
            return Reading<ThrottleFlags>.Unavailable($"{source} holds '{SysfsRoot.Shorten(text)}', not a hex bit field");
        }
        // Bits beyond the documented ones mean firmware we do not understand; keep the known ones.
        return Reading<ThrottleFlags>.Ok((ThrottleFlags)(bits & KnownBits));
    }
}
