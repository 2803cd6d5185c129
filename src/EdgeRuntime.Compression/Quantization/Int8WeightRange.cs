namespace EdgeRuntime.Compression.Quantization;

/// <summary>How many bits int8 weights use.</summary>
public enum Int8WeightRange
{
    /// <summary>Reduced on x86 without VNNI, full elsewhere (see <see cref="Int8Platform"/>).</summary>
    Auto,
    /// <summary>Symmetric [-127, 127].</summary>
    Full,
    /// <summary>Symmetric 7-bit [-63, 63]: never saturates u8×s8 pair sums, costs one bit of weight precision.</summary>
    Reduced,
}
