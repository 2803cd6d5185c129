using System.Globalization;
using Onnx;

namespace EdgeRuntime.Onnx;

/// <summary>
/// Reads tensors whose bytes live outside the model file (data_location = EXTERNAL),
/// refusing locations that would leave the model's directory.
/// </summary>
internal static class ExternalTensorData
{
    public static bool IsExternal(TensorProto tensor) =>
        tensor.DataLocation == TensorProto.Types.DataLocation.External;

    public static byte[] Read(TensorProto tensor, string? modelDirectory)
    {
        string name = tensor.Name;
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in tensor.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = ParseNonNegative(entry, name);
                    break;
                case "length":
                    length = ParseNonNegative(entry, name);
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw new OnnxFormatException($"Tensor '{name}' is marked as external data but has no 'location' entry.");
        }

        if (modelDirectory is null)
        {
            throw new OnnxFormatException(
                $"Tensor '{name}' keeps its data in external file '{location}', but the model was not loaded from a "
                + "file, so there is no directory to find it in. Load the model from its path or pass the directory.");
        }

        string path = ResolvePath(modelDirectory, location, name);
        if (!File.Exists(path))
        {
            throw new OnnxFormatException($"Tensor '{name}' keeps its data in '{path}', which does not exist.");
        }

        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        long fileLength = RandomAccess.GetLength(handle);
        long byteCount = length ?? fileLength - offset;
        if (offset > fileLength || byteCount < 0 || offset + byteCount > fileLength)
        {
            throw new OnnxFormatException(
                $"Tensor '{name}' reads {byteCount} bytes at offset {offset} of '{path}', but the file has only {fileLength} bytes.");
        }

        if (byteCount > Array.MaxLength)
        {
            throw new OnnxFormatException($"Tensor '{name}' has {byteCount} bytes of external data, more than one array can hold.");
        }

        var bytes = new byte[byteCount];
        int filled = 0;
        while (filled < bytes.Length)
        {
            int read = RandomAccess.Read(handle, bytes.AsSpan(filled), offset + filled);
            if (read == 0)
            {
                throw new OnnxFormatException($"'{path}' ended early while reading tensor '{name}'.");
            }

            filled += read;
        }

        return bytes;
    }

    /// <summary>
    /// Resolves <paramref name="location"/> against the model directory; a location that is
    /// absolute, climbs out with "..", or is a link to somewhere outside, is refused because a
    /// model file must not be able to make us read arbitrary files.
    /// </summary>
    public static string ResolvePath(string modelDirectory, string location, string tensorName)
    {
        string root = Path.GetFullPath(modelDirectory);
        string rootWithSeparator = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        if (Path.IsPathRooted(location))
        {
            throw new OnnxFormatException(
                $"Tensor '{tensorName}' names external data by the absolute path '{location}'; only paths inside the model directory are allowed.");
        }

        string path = Path.GetFullPath(Path.Combine(root, location));
        if (!IsInside(path, rootWithSeparator))
        {
            throw new OnnxFormatException(
                $"Tensor '{tensorName}' names external data '{location}', which is outside the model directory '{root}'.");
        }

        var info = new FileInfo(path);
        if (info.Exists && info.LinkTarget is not null)
        {
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is not null && !IsInside(Path.GetFullPath(target.FullName), rootWithSeparator))
            {
                throw new OnnxFormatException(
                    $"Tensor '{tensorName}' names external data '{location}', a link that points outside the model directory '{root}'.");
            }
        }

        return path;
    }

    private static bool IsInside(string path, string rootWithSeparator)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS()
            ? StringComparison.OrdinalIgnoreCase
            : StringComparison.Ordinal;
        return path.StartsWith(rootWithSeparator, comparison);
    }

    private static long ParseNonNegative(StringStringEntryProto entry, string tensorName)
    {
        if (!long.TryParse(entry.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            throw new OnnxFormatException(
                $"Tensor '{tensorName}' has external data {entry.Key} '{entry.Value}', which is not a non-negative integer.");
        }

        return value;
    }
}
