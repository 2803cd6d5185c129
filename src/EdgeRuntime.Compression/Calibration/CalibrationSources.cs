using System.Globalization;
using EdgeRuntime.Data;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Compression.Calibration;

/// <summary>Calibration samples named the way the toolchain's commands take them: X.npy, NAME=X.npy per input, or a data set name.</summary>
public static class CalibrationSources
{
    /// <summary>Calibration batches from .npy files (one per input) or a known dataset; null when none given.</summary>
    public static CalibrationData? Load(string modelPath, IReadOnlyList<string> specs, int? limit, IReadOnlyDictionary<string, int>? batchAxes = null)
    {
        if (specs.Count == 0)
        {
            return null;
        }
        var (inputs, _) = OrtSignatures.ReadFromFile(modelPath);
        if (specs.Count == 1 && DatasetCatalog.IsKnown(specs[0]))
        {
            return CalibrationData.FromDataset(DatasetCatalog.Resolve(specs[0]), inputs, limit: limit ?? 1000);
        }
        var files = new Dictionary<string, string>();
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            string name = equals > 0 ? spec[..equals] : inputs.Count == 1 ? inputs[0].Name : throw new ArgumentException($"the model has {inputs.Count} inputs: give --calib NAME=FILE.npy for each");
            string file = equals > 0 ? spec[(equals + 1)..] : spec;
            if (!File.Exists(file))
            {
                throw new ArgumentException($"calibration file '{file}' does not exist");
            }
            files[name] = file;
        }
        return CalibrationData.FromNpy(files, inputs, limit: limit, batchAxes: batchAxes);
    }

    /// <summary>--batch-axis NAME=K: the samples of input NAME go on its axis K.</summary>
    public static Dictionary<string, int> ParseBatchAxes(IEnumerable<string> specs)
    {
        var axes = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string spec in specs)
        {
            int equals = spec.IndexOf('=');
            if (equals <= 0 || !int.TryParse(spec[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int axis))
            {
                throw new ArgumentException($"--batch-axis '{spec}': expected NAME=K with K a non-negative axis number, e.g. state=1");
            }
            if (!axes.TryAdd(spec[..equals], axis))
            {
                throw new ArgumentException($"--batch-axis: input '{spec[..equals]}' is given twice");
            }
        }
        return axes;
    }
}
