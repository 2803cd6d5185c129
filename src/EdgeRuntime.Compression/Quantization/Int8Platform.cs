using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace EdgeRuntime.Compression.Quantization;

/// <summary>
/// What the CPU that will run an int8 model does with uint8 × int8 products. x86 without VNNI multiplies
/// them with vpmaddubsw, which adds pairs of products into int16 and saturates when both weights of a
/// pair are large; 7-bit weights ("reduce range") cannot saturate. VNNI (vpdpbusd) and ARM's dot-product
/// instructions accumulate in int32 and need no such care.
/// </summary>
/// <param name="IsX86">The CPU is x86 / x64.</param>
/// <param name="HasVnni">It has AVX-VNNI or AVX512-VNNI.</param>
public sealed record Int8Platform(bool IsX86, bool HasVnni)
{
    /// <summary>True when full-range int8 weights could saturate intermediate sums on this platform.</summary>
    public bool PrefersReducedRange => IsX86 && !HasVnni;

    public override string ToString() => !IsX86 ? "non-x86 (ARM dot products accumulate in int32)" : HasVnni ? "x86 with VNNI" : "x86 without VNNI";

    /// <summary>The machine this process runs on.</summary>
    /// <param name="cpuInfoPath">Where Linux lists the CPU flags (AVX512-VNNI has no .NET intrinsic class to ask).</param>
    public static Int8Platform Detect(string cpuInfoPath = "/proc/cpuinfo")
    {
        var architecture = RuntimeInformation.ProcessArchitecture;
        bool isX86 = architecture is Architecture.X64 or Architecture.X86;
        return new Int8Platform(isX86, isX86 && (AvxVnni.IsSupported || CpuInfoHasFlag(cpuInfoPath, "avx512_vnni")));
    }

    /// <summary>Whether weights are reduced to 7 bits for a target platform ("x86_64", "arm64", or null for this machine), and why.</summary>
    public static (bool Reduced, string Reason) Decide(Int8WeightRange choice, string? targetPlatform)
    {
        var platform = targetPlatform switch
        {
            null => Detect(),
            "arm64" => new Int8Platform(IsX86: false, HasVnni: false),
            // Quantizing for another x86 machine: its VNNI support is unknown, so assume the common case without.
            _ => new Int8Platform(IsX86: true, HasVnni: false),
        };
        return choice switch
        {
            Int8WeightRange.Full => (false, "full-range int8 weights (asked)"),
            Int8WeightRange.Reduced => (true, "reduce-range 7-bit weights (asked)"),
            _ when platform.PrefersReducedRange => (true, $"reduce-range 7-bit weights ({platform}: u8*s8 would saturate)"),
            _ => (false, $"full-range int8 weights ({platform})"),
        };
    }

    private static bool CpuInfoHasFlag(string path, string flag)
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    return line.Split(' ', '\t').Contains(flag);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return false;
    }
}
