using EdgeRuntime.Compression.Calibration;

namespace EdgeRuntime.Compression.Quantization.Static;

/// <summary>Settings of int8 static (QDQ) quantization. Defaults are what we measured to work best here.</summary>
public sealed record StaticQuantizeOptions
{
    public CalibrationOptions Calibration { get; init; } = new();

    /// <summary>Per output channel weight scales (needs opset 13; older models fall back to per tensor).</summary>
    public bool PerChannel { get; init; } = true;

    public Int8WeightRange WeightRange { get; init; } = Int8WeightRange.Auto;

    /// <summary>Platform the variant is made for ("x86_64", "arm64"); null: this machine.</summary>
    public string? TargetPlatform { get; init; }

    /// <summary>Fold the mean shift quantized weights cause into each layer's bias.</summary>
    public bool BiasCorrection { get; init; } = true;

    /// <summary>Node names or op types to keep in float.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>
    /// Largest acceptable output error (squared error relative to the float output's energy, averaged
    /// over outputs). When set, the most sensitive nodes stay in float until the error fits.
    /// </summary>
    public double? ErrorBudget { get; init; }

    /// <summary>Calibration samples used to measure each node's sensitivity.</summary>
    public int SensitivitySamples { get; init; } = 256;

    public void Validate()
    {
        Calibration.Validate();
        if (ErrorBudget is double budget && !(budget > 0 && budget < 1))
        {
            throw new ArgumentException($"the error budget must be between 0 and 1 (relative squared error), got {budget}");
        }
        if (SensitivitySamples < 1)
        {
            throw new ArgumentException($"sensitivity samples must be at least 1, got {SensitivitySamples}");
        }
        if (TargetPlatform is not (null or "x86_64" or "arm64"))
        {
            throw new ArgumentException($"target platform must be x86_64 or arm64, got '{TargetPlatform}'");
        }
    }
}
