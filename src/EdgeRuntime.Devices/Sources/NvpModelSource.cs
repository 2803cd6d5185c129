using System.Text.RegularExpressions;
using EdgeRuntime.Devices.Boards;
using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Sources;

/// <summary>
/// The Jetson power mode: nvpmodel's status file ("pmode:0001 fmode:..."), else `nvpmodel -q`
/// ("NV Power Mode: 5W" then the id); the id is named from the descriptor's modes.
/// </summary>
public sealed partial class NvpModelSource(SysfsRoot root, PowerModesDescriptor modes, ICommandRunner? nvpmodel) : ISensorSource
{
    public string Name => "power_mode";

    public void ReadInto(DeviceSnapshotBuilder snapshot) => snapshot.SetPowerMode(Read());

    private Reading<string> Read()
    {
        var status = root.ReadText(modes.StatusPath);
        if (status.TryGetValue(out string? text))
        {
            var match = StatusPattern().Match(text);
            return match.Success
                ? Reading<string>.Ok(NameOf(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)))
                : Reading<string>.Unavailable($"{modes.StatusPath} holds '{SysfsRoot.Shorten(text)}', expected pmode:NNNN");
        }
        if (nvpmodel is null || !modes.NvpmodelCommand)
        {
            return Reading<string>.Unavailable(status.Reason!);
        }
        var output = nvpmodel.Run("nvpmodel", "-q");
        if (!output.TryGetValue(out string? query))
        {
            return Reading<string>.Unavailable($"{status.Reason}, and {output.Reason}");
        }
        var named = QueryPattern().Match(query);
        return named.Success
            ? Reading<string>.Ok(named.Groups[1].Value.Trim())
            : Reading<string>.Unavailable($"nvpmodel -q printed '{SysfsRoot.Shorten(query.Trim())}', expected 'NV Power Mode: ...'");
    }

    private string NameOf(int id) => modes.Modes.FirstOrDefault(m => m.Id == id)?.Name ?? $"mode {id}";

    [GeneratedRegex(@"pmode:\s*(\d+)")]
    private static partial Regex StatusPattern();

    [GeneratedRegex(@"NV Power Mode:\s*(\S[^\r\n]*)")]
    private static partial Regex QueryPattern();
}
