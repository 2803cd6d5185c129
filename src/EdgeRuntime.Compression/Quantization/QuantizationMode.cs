namespace EdgeRuntime.Compression.Quantization;

public enum QuantizationMode
{
    /// <summary>Weights and activations in float16; graph inputs and outputs keep their type.</summary>
    Fp16,
    /// <summary>int8 weights, activations quantized at run time (MatMul/Gemm), in the form ONNX Runtime fuses.</summary>
    Int8Dynamic,
    /// <summary>int8 weights and activations with ranges from calibration, as QDQ pairs ONNX Runtime fuses.</summary>
    Int8Static,
    /// <summary>4-bit MatMul weights in blocks (MatMulNBits); activations stay float.</summary>
    Int4Weight,
}

public static class QuantizationModes
{
    public static string ToName(this QuantizationMode mode) => mode switch
    {
        QuantizationMode.Fp16 => "fp16",
        QuantizationMode.Int8Dynamic => "int8-dynamic",
        QuantizationMode.Int8Static => "int8-static",
        QuantizationMode.Int4Weight => "int4-weight",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static QuantizationMode Parse(string name) =>
        Enum.GetValues<QuantizationMode>().FirstOrDefault(m => m.ToName() == name, (QuantizationMode)(-1)) is var mode && Enum.IsDefined(mode)
            ? mode
            : throw new ArgumentException($"unknown quantization mode '{name}'; expected one of {string.Join(", ", Enum.GetValues<QuantizationMode>().Select(m => m.ToName()))}");
}
