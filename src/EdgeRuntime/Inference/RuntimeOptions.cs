using System.ComponentModel.DataAnnotations;

namespace EdgeRuntime.Inference;

/// <summary>How a <see cref="ModelRuntime"/> loads and keeps variants. Validated when the runtime opens.</summary>
public sealed class RuntimeOptions : IValidatableObject
{
    /// <summary>Variant to serve first; null for the bundle's reference variant.</summary>
    public string? InitialVariant { get; set; }

    /// <summary>Threads in the shared intra-op pool; null for one per processor.</summary>
    [Range(1, 1024)]
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Threads and spinning requests run with until <see cref="ModelRuntime.SetKnobs"/> (a governor) changes them; a
    /// request may also name its own. Default: the whole pool without spinning. Each other setting a variant runs
    /// with gets a session of its own, made on first use.
    /// </summary>
    public ExecutionKnobs Knobs { get; set; } = ExecutionKnobs.AllThreads();

    /// <summary>ONNX Runtime's CPU memory arena; off trades a little allocation time for memory returned after each run.</summary>
    public bool CpuMemoryArena { get; set; } = true;

    /// <summary>One CPU memory arena in ONNX Runtime's environment for every session of the process, instead of one per
    /// session: resident variants share the activation memory their runs need (<c>session.use_env_allocators</c>).</summary>
    public bool SharedCpuArena { get; set; }

    /// <summary>Resident session memory to aim for; least recently used idle variants are unloaded
    /// beyond it. The current variant always stays. Null: no limit.</summary>
    [Range(1L, long.MaxValue)]
    public long? MemoryBudgetBytes { get; set; }

    /// <summary>Load every variant once at open to find the ones that cannot serve (corrupt file,
    /// mismatched inputs) before any request needs them.</summary>
    public bool ValidateAllVariantsOnOpen { get; set; } = true;

    /// <summary>
    /// Keep only the serving variant and the next lighter one (the governor's usual step down) loaded, as a warm standby;
    /// any other variant loads when switched to. Distinct variants' weights add up (five MiniLM variants: 3.3x the
    /// first's file), so this is what keeps a ladder within a small board's memory. Off: every variant stays resident.
    /// </summary>
    public bool StandbyOnly { get; set; }

    /// <summary>Run one inference on zeros right after loading, so the first real request is not the slow one.</summary>
    public bool WarmUpOnLoad { get; set; } = true;

    /// <summary>Latency samples kept per variant for percentiles.</summary>
    [Range(16, 1 << 20)]
    public int LatencyWindowSamples { get; set; } = 1024;

    /// <summary>Oldest latency sample the percentiles consider.</summary>
    public TimeSpan LatencyWindow { get; set; } = TimeSpan.FromMinutes(1);

    [Range(0.001, 1.0)]
    public double LatencyEwmaAlpha { get; set; } = 0.1;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LatencyWindow <= TimeSpan.Zero)
        {
            yield return new ValidationResult("LatencyWindow must be positive", [nameof(LatencyWindow)]);
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void ValidateOrThrow()
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true))
        {
            throw new ArgumentException($"invalid runtime options: {string.Join("; ", results.Select(r => r.ErrorMessage))}");
        }
    }
}
