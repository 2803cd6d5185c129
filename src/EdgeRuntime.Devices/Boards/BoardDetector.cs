using EdgeRuntime.Devices.Sysfs;

namespace EdgeRuntime.Devices.Boards;

/// <summary>
/// Recognises the board from the device-tree model string (/proc/device-tree/model), the Jetson release file
/// (/etc/nv_tegra_release) and marker files; falls back to generic-linux.
/// </summary>
public static class BoardDetector
{
    public const string ModelPath = "/proc/device-tree/model";
    public const string ModelFallbackPath = "/sys/firmware/devicetree/base/model";
    public const string JetsonReleasePath = "/etc/nv_tegra_release";

    public static DetectedBoard Detect(SysfsRoot root, BoardCatalog catalog)
    {
        var modelReading = root.ReadText(ModelPath);
        if (!modelReading.IsOk)
        {
            modelReading = root.ReadText(ModelFallbackPath);
        }
        string? model = modelReading.IsOk ? modelReading.Value : null;
        var releaseReading = root.ReadText(JetsonReleasePath);
        string? release = releaseReading.IsOk ? releaseReading.Value!.Split('\n')[0].Trim() : null;

        // The longest matching model substring is the most specific ("Raspberry Pi 4" over "Raspberry Pi").
        BoardDescriptor? best = null;
        int bestScore = 0;
        string reason = "";
        foreach (var board in catalog.Boards.OrderBy(b => b.Id, StringComparer.Ordinal))
        {
            int score = 0;
            string why = "";
            if (model is not null && board.Detect.ModelContains.FirstOrDefault(m => model.Contains(m, StringComparison.OrdinalIgnoreCase)) is { } modelMatch)
            {
                score = 1000 + modelMatch.Length;
                why = $"device-tree model '{model}' contains '{modelMatch}'";
            }
            else if (release is not null && board.Detect.JetsonReleaseContains.FirstOrDefault(r => release.Contains(r, StringComparison.OrdinalIgnoreCase)) is { } releaseMatch)
            {
                score = 500 + releaseMatch.Length;
                why = $"{JetsonReleasePath} '{release}' contains '{releaseMatch}'";
            }
            else if (board.Detect.FilesExist.Count > 0 && board.Detect.FilesExist.All(root.Exists))
            {
                score = 100;
                why = $"found {string.Join(", ", board.Detect.FilesExist)}";
            }
            if (score > bestScore)
            {
                (best, bestScore, reason) = (board, score, why);
            }
        }
        if (best is null)
        {
            best = catalog.Get(BoardCatalog.GenericLinuxId);
            reason = model is null
                ? $"no device-tree model ({modelReading.Reason}) and no Jetson release file; using the generic Linux descriptor"
                : $"no descriptor matches the model '{model}'; using the generic Linux descriptor";
        }
        return new DetectedBoard(best, reason, model, release);
    }
}
