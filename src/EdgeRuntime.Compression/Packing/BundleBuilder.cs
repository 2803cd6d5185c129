using System.Text.RegularExpressions;
using EdgeRuntime.Bundles;
using EdgeRuntime.Data;
using EdgeRuntime.Evaluation.Accuracy;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Compression.Packing;

/// <summary>A model file to put into a bundle, with what the tool that made it knows about it.</summary>
public sealed record VariantSource(string Id, string ModelPath)
{
    /// <summary>Null: read from the graph.</summary>
    public string? Precision { get; init; }
    /// <summary>Fraction of zero weights; null: read from the graph (which cannot see the zeros a sparse op's compressed weights left out).</summary>
    public double? Sparsity { get; init; }
    /// <summary>Fraction of the reference's channels kept; null: read from the graphs against the reference variant's.</summary>
    public double? ChannelsKept { get; init; }
    public IReadOnlyList<string> Applied { get; init; } = [];
    public IReadOnlyList<string> FloatNodes { get; init; } = [];
    /// <summary>Custom-op libraries (paths) the model needs: copied into the bundle and named in the manifest.</summary>
    public IReadOnlyList<string> CustomOpLibraries { get; init; } = [];
}

/// <summary>Data to measure each variant's quality on while packing.</summary>
public sealed record QualityData(LabelledDataset Data, bool Labelled, string Name)
{
    public int? Limit { get; init; }
    public int BatchSize { get; init; } = 64;
}

/// <summary>
/// Packs variants into a bundle directory: copies each model, hashes it, checks its inputs and outputs
/// against the reference, reads its facts from the graph, optionally measures its quality, and writes
/// the manifest last (atomically), so a failure never leaves a manifest that lies.
/// </summary>
public static partial class BundleBuilder
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex VariantIdPattern();

    /// <param name="inputShapes">Input shapes (batch 1) the variants were calibrated at, recorded for models with symbolic dimensions.</param>
    /// <param name="fixedInputs">Inputs the model was specialised for (name to value), recorded so a deployment knows what its variants serve.</param>
    public static BundleManifest Create(string directory, string name, IReadOnlyList<VariantSource> variants, QualityData? quality = null, string? description = null,
        IReadOnlyDictionary<string, long[]>? inputShapes = null, IReadOnlyDictionary<string, string>? fixedInputs = null)
    {
        if (variants.Count == 0)
        {
            throw new ArgumentException("a bundle needs at least one variant (the first is the reference)");
        }
        foreach (var group in variants.GroupBy(v => v.Id).Where(g => g.Count() > 1))
        {
            throw new ArgumentException($"variant id '{group.Key}' is given {group.Count()} times");
        }
        if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new IOException($"'{directory}' exists and is not empty; choose a new directory or use 'bundle add'");
        }
        Directory.CreateDirectory(directory);
        var (inputs, outputs) = ReadSignature(variants[0], variants[0].CustomOpLibraries);
        var shapes = RecordedShapes(inputs, inputShapes);
        var entries = variants.Select(v => Pack(directory, v, inputs, outputs, shapes, variants[0].ModelPath)).ToList();
        var manifest = new BundleManifest
        {
            InputShapes = shapes,
            FixedInputs = fixedInputs is { Count: > 0 } ? fixedInputs : null,
            Name = name,
            Description = description,
            CreatedUtc = DateTimeOffset.UtcNow,
            ReferenceVariant = variants[0].Id,
            Inputs = inputs,
            Outputs = outputs,
            Variants = entries,
        };
        manifest = WithQuality(directory, manifest, quality, entries.Select(e => e.Id).ToList());
        ManifestJson.WriteAtomically(manifest, Path.Combine(directory, BundleManifest.FileName));
        return manifest;
    }

    /// <summary>Adds one variant to an existing bundle (or replaces one of the same id when asked).</summary>
    public static BundleManifest Add(string directory, VariantSource variant, QualityData? quality = null, bool replace = false,
        IReadOnlyDictionary<string, long[]>? inputShapes = null)
    {
        var bundle = ModelBundle.Open(directory, checkHashes: false);
        var manifest = bundle.Manifest;
        if (manifest.FindVariant(variant.Id) is not null && !replace)
        {
            throw new ArgumentException($"bundle '{manifest.Name}' already has a variant '{variant.Id}'; pass --replace to overwrite it");
        }
        if (replace && variant.Id == manifest.ReferenceVariant)
        {
            throw new ArgumentException($"'{variant.Id}' is the reference variant; make a new bundle to change the reference");
        }
        var shapes = manifest.InputShapes ?? RecordedShapes(manifest.Inputs, inputShapes);
        var entry = Pack(directory, variant, manifest.Inputs, manifest.Outputs, shapes, bundle[manifest.ReferenceVariant].ModelPath);
        manifest = manifest with
        {
            InputShapes = shapes,
            Variants = [.. manifest.Variants.Where(v => v.Id != variant.Id), entry],
        };
        manifest = WithQuality(directory, manifest, quality, [variant.Id]);
        ManifestJson.WriteAtomically(manifest, Path.Combine(directory, BundleManifest.FileName));
        return manifest;
    }

    /// <summary>The given shapes when some input has a symbolic dimension besides the batch (else nothing needs recording); checked against the signature.</summary>
    private static Dictionary<string, long[]>? RecordedShapes(IReadOnlyList<Bundles.TensorSignature> inputs, IReadOnlyDictionary<string, long[]>? given)
    {
        if (given is null || given.Count == 0 || inputs.All(i => i.Shape.Skip(1).All(d => d.IsFixed)))
        {
            return null;
        }
        foreach (var input in inputs)
        {
            if (!given.TryGetValue(input.Name, out var shape))
            {
                return null;
            }
            if (shape.Length != input.Shape.Count || Enumerable.Range(1, shape.Length - 1).Any(i => input.Shape[i].Size is long fixedSize && shape[i] != fixedSize))
            {
                throw new ArgumentException($"input shape {string.Join("x", shape)} for '{input.Name}' does not fit its signature {input}");
            }
        }
        return inputs.ToDictionary(i => i.Name, i => (long[])[1, .. given[i.Name].Skip(1)]);
    }

    private static VariantManifest Pack(string directory, VariantSource source, IReadOnlyList<Bundles.TensorSignature> inputs, IReadOnlyList<Bundles.TensorSignature> outputs,
        IReadOnlyDictionary<string, long[]>? shapes, string referencePath)
    {
        if (!VariantIdPattern().IsMatch(source.Id))
        {
            throw new ArgumentException($"variant id '{source.Id}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if (!File.Exists(source.ModelPath))
        {
            throw new FileNotFoundException($"variant '{source.Id}': model file '{source.ModelPath}' does not exist", source.ModelPath);
        }
        var libraries = new List<string>();
        foreach (string library in source.CustomOpLibraries)
        {
            if (!File.Exists(library))
            {
                throw new FileNotFoundException($"variant '{source.Id}': custom-op library '{library}' does not exist", library);
            }
            string name = Path.GetFileName(library);
            string copy = Path.Combine(directory, name);
            if (!string.Equals(Path.GetFullPath(library), Path.GetFullPath(copy), StringComparison.Ordinal))
            {
                AtomicFile.Copy(library, copy);
            }
            libraries.Add(name);
        }
        var (actualInputs, actualOutputs) = ReadSignature(source, [.. libraries.Select(l => Path.Combine(directory, l))]);
        string? mismatch = Bundles.TensorSignature.Describe("input", inputs, actualInputs)
            ?? Bundles.TensorSignature.Describe("output", outputs, actualOutputs);
        if (mismatch is not null)
        {
            throw new InvalidDataException($"variant '{source.Id}' ({source.ModelPath}) does not fit the bundle: {mismatch}");
        }
        var facts = ModelFacts.Read(source.ModelPath, shapes);
        double channelsKept = source.ChannelsKept ?? (Path.GetFullPath(source.ModelPath) == Path.GetFullPath(referencePath) ? 1.0 : ModelFacts.ChannelsKept(source.ModelPath, referencePath) ?? 1.0);
        string file = $"{source.Id}.onnx";
        string target = Path.Combine(directory, file);
        if (!string.Equals(Path.GetFullPath(source.ModelPath), Path.GetFullPath(target), StringComparison.Ordinal))
        {
            AtomicFile.Copy(source.ModelPath, target);
        }
        var externalData = CopyExternalData(directory, source);
        return new VariantManifest
        {
            Id = source.Id,
            File = file,
            ExternalData = externalData,
            Sha256 = ModelBundle.ComputeSha256(target),
            SizeBytes = new FileInfo(target).Length,
            Precision = source.Precision ?? facts.Precision,
            Sparsity = Math.Round(source.Sparsity ?? facts.Sparsity, 6),
            ChannelsKept = Math.Round(channelsKept, 4),
            Macs = facts.Macs,
            Parameters = facts.Parameters,
            Applied = source.Applied,
            FloatNodes = source.FloatNodes,
            CustomOpLibraries = libraries,
        };
    }

    /// <summary>
    /// Copies the files a model keeps external tensor data in next to its copy in the bundle (same relative paths,
    /// which the graph names) and records each with its hash, so the bundle is whole and verifiable.
    /// </summary>
    private static List<ExternalDataFile> CopyExternalData(string directory, VariantSource source)
    {
        var files = Onnx.OnnxModel.Load(source.ModelPath).ExternalDataFiles;
        var entries = new List<ExternalDataFile>();
        string sourceDirectory = Path.GetDirectoryName(Path.GetFullPath(source.ModelPath))!;
        foreach (string location in files)
        {
            string relative = location.Replace('\\', '/');
            if (Path.IsPathRooted(relative) || relative.Split('/').Any(part => part is ".." or ""))
            {
                throw new InvalidDataException($"variant '{source.Id}': external data location '{location}' must be a relative path inside the model's directory");
            }
            string from = Path.Combine(sourceDirectory, relative);
            if (!File.Exists(from))
            {
                throw new FileNotFoundException($"variant '{source.Id}': external data file '{from}' named by the model does not exist", from);
            }
            string to = Path.Combine(directory, relative);
            string hash = ModelBundle.ComputeSha256(from);
            if (!string.Equals(Path.GetFullPath(from), Path.GetFullPath(to), StringComparison.Ordinal))
            {
                if (File.Exists(to) && !string.Equals(ModelBundle.ComputeSha256(to), hash, StringComparison.OrdinalIgnoreCase))
                {
                    throw new IOException($"variant '{source.Id}': external data file '{relative}' differs from the file of that name already in the bundle (another variant's); give the data files distinct names");
                }
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                AtomicFile.Copy(from, to);
            }
            entries.Add(new ExternalDataFile { File = relative, Sha256 = hash, SizeBytes = new FileInfo(to).Length });
        }
        return entries;
    }

    private static (IReadOnlyList<Bundles.TensorSignature> Inputs, IReadOnlyList<Bundles.TensorSignature> Outputs) ReadSignature(VariantSource source, IReadOnlyList<string> libraries)
    {
        try
        {
            return OrtSignatures.ReadFromFile(source.ModelPath, libraries);
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException e)
        {
            throw new InvalidDataException($"variant '{source.Id}': ONNX Runtime cannot load '{source.ModelPath}': {e.Message}", e);
        }
    }

    private static BundleManifest WithQuality(string directory, BundleManifest manifest, QualityData? quality, IReadOnlyList<string> ids)
    {
        if (quality is null)
        {
            return manifest;
        }
        // Evaluate from a staged manifest so the files on disk are what gets measured.
        string staged = Path.Combine(directory, BundleManifest.FileName);
        string? previous = File.Exists(staged) ? File.ReadAllText(staged) : null;
        ManifestJson.WriteAtomically(manifest, staged);
        EvalReport report;
        try
        {
            using var runtime = ModelRuntime.Open(ModelBundle.Open(directory), new RuntimeOptions { ValidateAllVariantsOnOpen = false });
            report = Evaluator.Evaluate(runtime, quality.Data, quality.Labelled,
                new EvalOptions { BatchSize = quality.BatchSize, Limit = quality.Limit, Variants = [.. ids] }, quality.Name);
        }
        finally
        {
            if (previous is null)
            {
                File.Delete(staged);
            }
            else
            {
                AtomicFile.WriteAllText(staged, previous);
            }
        }
        var failed = report.Variants.Where(v => v.Error is not null).ToList();
        if (failed.Count > 0)
        {
            throw new InvalidDataException($"quality could not be measured: {string.Join("; ", failed.Select(f => $"{f.Variant}: {f.Error}"))}");
        }
        var measured = report.Variants.ToDictionary(v => v.Variant);
        return manifest with
        {
            Variants =
            [
                .. manifest.Variants.Select(v => measured.TryGetValue(v.Id, out var m)
                    ? v with
                    {
                        Quality = new QualityRecord
                        {
                            Metric = report.Labelled ? "top1" : "agreement",
                            Value = Math.Round(report.Labelled ? m.Top1 ?? 0 : m.Agreement ?? 0, 6),
                            Agreement = m.Agreement is double a ? Math.Round(a, 6) : null,
                            Dataset = report.Dataset,
                            Samples = m.Samples,
                        },
                    }
                    : v),
            ],
        };
    }
}
