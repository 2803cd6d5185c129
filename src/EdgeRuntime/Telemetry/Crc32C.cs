using System.Numerics;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// CRC-32C (Castagnoli) framing checksums over the BCL's <see cref="BitOperations.Crc32C(uint, ulong)"/>, which uses the
/// CPU's CRC32C instructions (SSE4.2, ARMv8 CRC) where there are some and a table otherwise.
/// </summary>
public static class Crc32C
{
    // Stored checksums are masked so that a CRC over data that itself holds CRCs does not degenerate.
    private const uint MaskDelta = 0xa282ead8u;

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a checksum over more data: Append(Compute(a), b) == Compute(a + b).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        while (data.Length >= sizeof(ulong))
        {
            state = BitOperations.Crc32C(state, MemoryMarshal.Read<ulong>(data));
            data = data[sizeof(ulong)..];
        }
        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }
        return ~state;
    }

    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint Unmask(uint masked)
    {
        uint rotated = masked - MaskDelta;
        return (rotated >> 17) | (rotated << 15);
    }
}
