namespace EdgeRuntime.Compression.Quantization.Fp16;

/// <summary>
/// Ops the fp16 converter keeps in float32 by default, each with the reason. Found by running every
/// op in float16 on ONNX Runtime 1.31's CPU provider: most ops load and run (the provider wraps the
/// ones without a float16 kernel in Casts), these do not, or lose too much in float16.
/// </summary>
public static class Fp16BlockList
{
    public static IReadOnlyDictionary<string, string> Default { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // The op schema has no float16, so the model would not even load.
        ["NonMaxSuppression"] = "its schema takes float32 boxes and scores only",
        ["Range"] = "its schema has no float16 type",
        ["Celu"] = "its schema takes float32 only",
        ["Resize"] = "its scales input must stay float32",
        ["Upsample"] = "its scales input must stay float32",
        // Loads, but fails at run time on the CPU provider.
        ["ScatterElements"] = "ONNX Runtime's CPU provider has no float16 kernel for its reductions",
        ["ScatterND"] = "ONNX Runtime's CPU provider has no float16 kernel for its reductions",
        // Runs, but float16 changes the result more than rounding would.
        ["RoiAlign"] = "box coordinates lose whole pixels in float16",
        ["TopK"] = "float16 ties change which elements are picked",
        ["LSTM"] = "ONNX Runtime's CPU provider has no float16 LSTM kernel, and its state would accumulate float16 rounding over the steps",
        ["GRU"] = "ONNX Runtime's CPU provider has no float16 GRU kernel, and its state would accumulate float16 rounding over the steps",
        ["RNN"] = "ONNX Runtime's CPU provider has no float16 RNN kernel, and its state would accumulate float16 rounding over the steps",
        // Their output type comes from a dtype attribute, not from their inputs.
        ["RandomNormal"] = "its output type comes from its dtype attribute",
        ["RandomUniform"] = "its output type comes from its dtype attribute",
        ["RandomNormalLike"] = "its output type comes from its dtype attribute",
        ["RandomUniformLike"] = "its output type comes from its dtype attribute",
        ["Multinomial"] = "its output type comes from its dtype attribute",
        ["Bernoulli"] = "its output type comes from its dtype attribute",
        // Already quantized: their scales are float32 by definition before opset 19.
        ["QuantizeLinear"] = "quantization scales stay float32",
        ["DequantizeLinear"] = "quantization scales stay float32",
        ["DynamicQuantizeLinear"] = "quantization scales stay float32",
    };
}
