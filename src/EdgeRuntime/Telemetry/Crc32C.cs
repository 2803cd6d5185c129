using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using ArmCrc32 = System.Runtime.Intrinsics.Arm.Crc32;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the CPU's CRC32C instructions where there are some (SSE4.2,
/// ARMv8 CRC), a table otherwise. The core keeps its dependencies to ONNX Runtime and MessagePack, so the checksum is
/// computed here rather than taken from a hashing package.
/// </summary>
public static class Crc32C
{
    private const uint ReflectedPolynomial = 0x82F63B78u;
    // Stored checksums are masked so that a CRC over data that itself holds CRCs does not degenerate.
    private const uint MaskDelta = 0xa282ead8u;

    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a checksum over more data: Append(Compute(a), b) == Compute(a + b).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        if (Sse42.X64.IsSupported)
        {
            ulong wide = state;
            while (data.Length >= sizeof(ulong))
            {
                wide = Sse42.X64.Crc32(wide, MemoryMarshal.Read<ulong>(data));
                data = data[sizeof(ulong)..];
            }
            state = (uint)wide;
            foreach (byte b in data)
            {
                state = Sse42.Crc32(state, b);
            }
            return ~state;
        }
        if (ArmCrc32.Arm64.IsSupported)
        {
            while (data.Length >= sizeof(ulong))
            {
                state = ArmCrc32.Arm64.ComputeCrc32C(state, MemoryMarshal.Read<ulong>(data));
                data = data[sizeof(ulong)..];
            }
            foreach (byte b in data)
            {
                state = ArmCrc32.ComputeCrc32C(state, b);
            }
            return ~state;
        }
        return AppendWithTable(crc, data);
    }

    /// <summary>The portable path; separate so tests can check it against the instructions.</summary>
    internal static uint AppendWithTable(uint crc, ReadOnlySpan<byte> data)
    {
        uint state = ~crc;
        foreach (byte b in data)
        {
            state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        }
        return ~state;
    }

    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + MaskDelta;

    public static uint Unmask(uint masked)
    {
        uint rotated = masked - MaskDelta;
        return (rotated >> 17) | (rotated << 15);
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint value = i;
            for (int bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? (value >> 1) ^ ReflectedPolynomial : value >> 1;
            }
            table[i] = value;
        }
        return table;
    }
}
