namespace EdgeRuntime.Compression.Quantization.WeightOnly;

/// <summary>How 4-bit weight codes are chosen.</summary>
public enum Int4Algorithm
{
    /// <summary>Each weight rounded to the nearest level of its block; needs no data.</summary>
    RoundToNearest,

    /// <summary>
    /// GPTQ: weights are quantized one input row at a time and the rounding error of each is pushed onto
    /// the rows not yet quantized, weighted by the inverse Hessian H = XᵀX of the layer's calibration
    /// inputs, so the layer's output (not its weights) stays close. Needs calibration data.
    /// </summary>
    Gptq,
}
