using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Benchmarking;
using EdgeRuntime.Evaluation.Feeding;
using EdgeRuntime.Inference;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Compression.Packing;

/// <summary>What <see cref="ReferenceRecorder.Record"/> wrote.</summary>
public sealed record ReferenceRecording(string BundleName, string File, string Variant, int Samples, string InputSource, IReadOnlyDictionary<string, double> Tolerances);

/// <summary>
/// Records a bundle's reference checks: runs a few inputs through the reference variant and stores them with its
/// outputs and a tolerance per output (BUNDLE-FORMAT.md), then names the file in the manifest with its hash, so a
/// device can check a new version against them after activating it. Sign the bundle after this step.
/// </summary>
public static class ReferenceRecorder
{
    /// <param name="data">Real samples to use (the first <paramref name="samples"/>, one per run) for a model with one
    /// float input; null: seeded uniform [0, 1) inputs at the recorded or smallest shapes.</param>
    public static ReferenceRecording Record(string bundleDirectory, int samples = 4, double tolerance = 1e-3,
        IReadOnlyDictionary<string, double>? perOutput = null, LabelledDataset? data = null, int seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(samples, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(tolerance);
        var bundle = ModelBundle.Open(bundleDirectory);
        var manifest = bundle.Manifest;
        using var runtime = ModelRuntime.Open(bundle, new RuntimeOptions { InitialVariant = manifest.ReferenceVariant, ValidateAllVariantsOnOpen = false });
        foreach (string name in perOutput?.Keys ?? [])
        {
            if (runtime.Outputs.All(o => o.Name != name))
            {
                throw new ArgumentException($"--output-tolerance '{name}': the model has no such output; outputs are {string.Join(", ", runtime.Outputs.Select(o => o.Name))}");
            }
        }
        var recorded = new List<ReferenceSample>();
        for (int i = 0; i < samples; i++)
        {
            var inputs = data is null ? RandomInputs(runtime.Inputs, manifest, seed + i) : DataInputs(runtime.Inputs, data, i);
            var result = runtime.Run(inputs, manifest.ReferenceVariant);
            recorded.Add(new ReferenceSample([.. inputs.Select(StoredTensor.From)], [.. result.Outputs.Select(StoredTensor.From)]));
        }
        var tolerances = runtime.Outputs.ToDictionary(o => o.Name, o => perOutput?.GetValueOrDefault(o.Name, tolerance) ?? tolerance, StringComparer.Ordinal);
        var checks = new ReferenceChecks { Variant = manifest.ReferenceVariant, Tolerances = tolerances, Samples = recorded };
        string file = manifest.ReferenceChecks?.File ?? ReferenceChecks.DefaultFileName;
        string path = Path.Combine(bundleDirectory, file);
        checks.Save(path);
        var updated = manifest with
        {
            ReferenceChecks = new ExternalDataFile { File = file, Sha256 = ModelBundle.ComputeSha256(path), SizeBytes = new FileInfo(path).Length },
        };
        ManifestJson.WriteAtomically(updated, Path.Combine(bundleDirectory, BundleManifest.FileName));
        return new ReferenceRecording(manifest.Name, file, manifest.ReferenceVariant, samples, data is null ? $"uniform random, seed {seed}" : data.Name, tolerances);
    }

    private static NamedTensor[] RandomInputs(IReadOnlyList<TensorSignature> signatures, BundleManifest manifest, int seed)
    {
        var inputs = Benchmarker.MakeInputs(signatures, new BenchOptions
        {
            InputShapes = manifest.InputShapes ?? new Dictionary<string, long[]>(),
            RequireSizedDimensions = false,
        });
        var random = new Random(seed);
        foreach (var tensor in inputs.Where(t => t.ElementType is ElementType.Float32 or ElementType.Float16 or ElementType.Float64))
        {
            var values = new float[tensor.ElementCount()];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = random.NextSingle();
            }
            TensorConversion.FromFloat32(values, tensor.ElementType, tensor.Data.Span);
        }
        return inputs;
    }

    private static NamedTensor[] DataInputs(IReadOnlyList<TensorSignature> signatures, LabelledDataset data, int index)
    {
        if (signatures.Count != 1 || signatures[0].ElementType != ElementType.Float32)
        {
            throw new ArgumentException("reference inputs from a data set need a model with one float32 input; record without --data for this model");
        }
        if (index >= data.Count)
        {
            throw new ArgumentException($"the data set '{data.Name}' has {data.Count} samples, fewer than the {index + 1} asked for");
        }
        return [NamedTensor.FromArray(signatures[0].Name, data.GetSample(index).ToArray(), data.GetBatchShape(1))];
    }
}
