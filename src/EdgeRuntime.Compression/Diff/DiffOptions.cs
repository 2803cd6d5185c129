namespace EdgeRuntime.Compression.Diff;

/// <summary>How <see cref="ModelDiff"/> feeds the models; defaults suit small test sets.</summary>
public sealed record DiffOptions
{
    /// <summary>Samples per inference where the models' batch dimension is open (a fixed batch is used as it is). Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Compare only the first N samples; null for all.</summary>
    public int? Limit { get; init; }

    /// <summary>Input name → the axis of that input the samples fill (the .npy holds them on its first axis); others inferred.</summary>
    public IReadOnlyDictionary<string, int> BatchAxes { get; init; } = new Dictionary<string, int>();

    public void Validate()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentException($"batch size must be at least 1, got {BatchSize}");
        }
        if (Limit is < 1)
        {
            throw new ArgumentException($"limit must be at least 1 sample, got {Limit}");
        }
    }
}
