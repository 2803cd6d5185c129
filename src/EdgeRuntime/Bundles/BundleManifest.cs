using System.Text.Json.Serialization;
using EdgeRuntime.Tensors;

namespace EdgeRuntime.Bundles;

/// <summary>
/// The contract between the offline toolchain and the device: <c>manifest.json</c> of a bundle.
/// The format is documented in src/EdgeRuntime/BUNDLE-FORMAT.md.
/// </summary>
public sealed record BundleManifest
{
    public const int CurrentSchemaVersion = 1;
    public const string FileName = "manifest.json";

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    public required string Name { get; init; }
    /// <summary>
    /// Release number of this bundle under its name, counting up (0 = never set). A signature covers it, so a
    /// device can refuse a replayed older signed release as a downgrade.
    /// </summary>
    public long Version { get; init; }
    public string? Description { get; init; }
    public DateTimeOffset CreatedUtc { get; init; }
    /// <summary>The variant others are compared against (normally fp32).</summary>
    public required string ReferenceVariant { get; init; }
    public required IReadOnlyList<TensorSignature> Inputs { get; init; }
    public required IReadOnlyList<TensorSignature> Outputs { get; init; }
    public required IReadOnlyList<VariantManifest> Variants { get; init; }
    /// <summary>
    /// Full input shapes (batch 1) the variants were calibrated at, when the inputs have symbolic dimensions
    /// besides the batch: MACs are counted and benchmarks run at these sizes, never at a guessed 1.
    /// </summary>
    public IReadOnlyDictionary<string, long[]>? InputShapes { get; init; }
    /// <summary>
    /// Inputs the model was specialised for before its variants were made (input name to value, as given to
    /// `edgert specialize` or `edgert build --fix-input`): the variants no longer take these inputs and serve only these values.
    /// </summary>
    public IReadOnlyDictionary<string, string>? FixedInputs { get; init; }

    /// <summary>
    /// Reference inputs with the reference variant's outputs and a tolerance per output, hashed like a model:
    /// a device checks a newly activated version against them before it keeps it.
    /// </summary>
    public ExternalDataFile? ReferenceChecks { get; init; }

    public VariantManifest? FindVariant(string id) => Variants.FirstOrDefault(v => v.Id == id);
}

public sealed record VariantManifest
{
    public required string Id { get; init; }
    /// <summary>File name inside the bundle directory; no directories.</summary>
    public required string File { get; init; }
    public required string Sha256 { get; init; }
    public long SizeBytes { get; init; }
    public string Precision { get; init; } = Precisions.Fp32;
    /// <summary>Fraction of weights that are zero (0 = dense).</summary>
    public double Sparsity { get; init; }
    /// <summary>Fraction of channels kept by structured pruning (1 = all).</summary>
    public double ChannelsKept { get; init; } = 1.0;
    /// <summary>Multiply-accumulates for one sample, where the toolchain could count them.</summary>
    public long? Macs { get; init; }
    public long? Parameters { get; init; }
    public QualityRecord? Quality { get; init; }
    /// <summary>Nodes a quantizer deliberately left in float.</summary>
    public IReadOnlyList<string> FloatNodes { get; init; } = [];
    /// <summary>What made this variant from the reference (quantize int8-static entropy, prune 0.5 l1, ...).</summary>
    public IReadOnlyList<string> Applied { get; init; } = [];
    /// <summary>
    /// ONNX Runtime custom-op libraries the variant's graph needs (e.g. native sparse kernels): file names
    /// looked up in the bundle directory, then in the runtime's own directory. A missing one makes the
    /// variant unavailable, never the runtime crash.
    /// </summary>
    public IReadOnlyList<string> CustomOpLibraries { get; init; } = [];

    /// <summary>Files the model keeps tensor data in (ONNX external data), relative to the bundle directory, each
    /// hashed like the model itself: a missing or altered one makes the variant unavailable, naming the file.</summary>
    public IReadOnlyList<ExternalDataFile> ExternalData { get; init; } = [];

    /// <summary>Preferred execution providers in order; the pool falls back to CPU with a stated reason.</summary>
    public IReadOnlyList<string> ExecutionProviders { get; init; } = [];
    /// <summary>Measured cost per device class, keyed by device class name.</summary>
    public IReadOnlyDictionary<string, DeviceCost> Costs { get; init; } = new Dictionary<string, DeviceCost>();
}

/// <summary>How much of the task a variant keeps, measured on an evaluation set.</summary>
public sealed record QualityRecord
{
    /// <summary>"top1" against labels, or "agreement" where there are none.</summary>
    public required string Metric { get; init; }
    public double Value { get; init; }
    /// <summary>Fraction of samples whose top-1 equals the reference variant's.</summary>
    public double? Agreement { get; init; }
    public string? Dataset { get; init; }
    public int Samples { get; init; }
}

/// <summary>What one variant costs on one class of device.</summary>
public sealed record DeviceCost
{
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    public long? PeakMemoryBytes { get; init; }
    public double? EnergyMillijoules { get; init; }
    public double? PowerWatts { get; init; }
    public int Threads { get; init; }
    public int BatchSize { get; init; } = 1;
    public DateTimeOffset MeasuredUtc { get; init; }

    /// <summary>What each execution setting cost on this device class, keyed by its code ("1", "all", "all+spin"):
    /// measured through the daemon at a fixed request rate (<c>edgert bench-knobs --record</c>).</summary>
    public IReadOnlyDictionary<string, KnobCost>? Knobs { get; init; }
}

/// <summary>One execution setting's measured cost: latency, and the process CPU per inference (pool threads and their spinning included).</summary>
public sealed record KnobCost
{
    public double LatencyP50Ms { get; init; }
    public double LatencyP95Ms { get; init; }
    public double CpuMsPerInference { get; init; }
    /// <summary>Intra-op threads the setting ran on (1, or the pool's size).</summary>
    public int Threads { get; init; }
    /// <summary>The request rate of the measurement (spinning costs less when requests come closer together).</summary>
    public double RatePerSecond { get; init; }
}

public static class Precisions
{
    public const string Fp32 = "fp32";
    public const string Fp16 = "fp16";
    public const string Int8Dynamic = "int8-dynamic";
    public const string Int8Static = "int8-static";
    public const string Int4Weight = "int4-weight";
    public const string Mixed = "mixed";

    public static readonly IReadOnlyList<string> All = [Fp32, Fp16, Int8Dynamic, Int8Static, Int4Weight, Mixed];
}

/// <summary>One external-data file of a variant: its path relative to the bundle, size and SHA-256.</summary>
public sealed record ExternalDataFile
{
    public required string File { get; init; }
    public required string Sha256 { get; init; }
    public long SizeBytes { get; init; }
}
