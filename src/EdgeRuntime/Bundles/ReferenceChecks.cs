using System.Globalization;
using System.Text.Json;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bundles;

/// <summary>
/// A bundle's reference checks (BUNDLE-FORMAT.md, "reference checks"): a few inputs with the outputs the reference
/// variant gave for them, and how far each output may move. A device runs them on a newly activated version
/// before it keeps it; the manifest hashes the file, so a signature covers the expectations too.
/// </summary>
public sealed record ReferenceChecks
{
    public const string DefaultFileName = "reference-checks.json";
    public const int CurrentFormat = 1;

    public int FormatVersion { get; init; } = CurrentFormat;
    /// <summary>The variant whose outputs were recorded.</summary>
    public required string Variant { get; init; }
    /// <summary>Largest allowed absolute difference per output name.</summary>
    public required IReadOnlyDictionary<string, double> Tolerances { get; init; }
    public required IReadOnlyList<ReferenceSample> Samples { get; init; }

    public static ReferenceChecks Load(string path)
    {
        ReferenceChecks? checks;
        try
        {
            checks = JsonSerializer.Deserialize<ReferenceChecks>(File.ReadAllBytes(path), ManifestJson.Options);
        }
        catch (JsonException e)
        {
            throw new BundleException($"{Path.GetFileName(path)}: not valid reference checks: {JsonErrorText.Describe(e)}", e);
        }
        if (checks is null || checks.FormatVersion != CurrentFormat)
        {
            throw new BundleException($"{Path.GetFileName(path)}: not format {CurrentFormat} reference checks");
        }
        if (checks.Samples.Count == 0)
        {
            throw new BundleException($"{Path.GetFileName(path)}: no samples");
        }
        return checks;
    }

    public void Save(string path) => AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, ManifestJson.Options));

    /// <summary>Outputs of one sample against the recorded ones: the largest deviation per output and the first problem.</summary>
    public ReferenceComparison Compare(int sampleIndex, IReadOnlyList<NamedTensor> actual)
    {
        double worst = 0;
        foreach (var expected in Samples[sampleIndex].Outputs)
        {
            var output = actual.FirstOrDefault(a => a.Name == expected.Name);
            if (output is null)
            {
                return new ReferenceComparison(double.PositiveInfinity, $"reference sample {sampleIndex}: output '{expected.Name}' is missing");
            }
            if (!output.Shape.SequenceEqual(expected.Shape))
            {
                return new ReferenceComparison(double.PositiveInfinity,
                    $"reference sample {sampleIndex}: output '{expected.Name}' has shape [{string.Join(",", output.Shape)}], recorded [{string.Join(",", expected.Shape)}]");
            }
            double[] want = expected.ToTensor().ToDoubles(), got = output.ToDoubles();
            double deviation = 0;
            for (int i = 0; i < want.Length; i++)
            {
                double d = Math.Abs(got[i] - want[i]);
                deviation = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(deviation, d);
            }
            worst = Math.Max(worst, deviation);
            double tolerance = Tolerances.GetValueOrDefault(expected.Name, 0);
            if (deviation > tolerance)
            {
                return new ReferenceComparison(worst,
                    $"reference sample {sampleIndex}: output '{expected.Name}' differs by {deviation.ToString("G4", CultureInfo.InvariantCulture)}, " +
                    $"more than its tolerance {tolerance.ToString("G4", CultureInfo.InvariantCulture)}");
            }
        }
        return new ReferenceComparison(worst, null);
    }
}

public sealed record ReferenceComparison(double MaxDeviation, string? Problem);

public sealed record ReferenceSample(IReadOnlyList<StoredTensor> Inputs, IReadOnlyList<StoredTensor> Outputs)
{
    public NamedTensor[] InputTensors() => [.. Inputs.Select(i => i.ToTensor())];
}

/// <summary>A tensor as JSON: element type by name, shape, and its little-endian bytes in base64.</summary>
public sealed record StoredTensor(string Name, string ElementType, long[] Shape, string Data)
{
    public static StoredTensor From(NamedTensor tensor) =>
        new(tensor.Name, tensor.ElementType.ToName(), tensor.Shape, Convert.ToBase64String(tensor.Data.Span));

    public NamedTensor ToTensor() =>
        new(Name, ElementTypes.Parse(ElementType), Shape, Convert.FromBase64String(Data));
}
