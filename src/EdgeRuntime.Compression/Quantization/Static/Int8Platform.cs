using System.Runtime.InteropServices;

namespace EdgeRuntime.Compression.Quantization.Static;

/// <summary>
/// Chooses the int8 weight range for a target CPU. ONNX Runtime's x86 kernels without VNNI multiply
/// u8 activations by s8 weights with 16-bit intermediate sums (vpmaddubsw), which saturate with
/// full-range weights; 7-bit weights avoid it. ARM's dot-product and x86 VNNI kernels do not saturate.
/// </summary>
public static class Int8Platform
{
    public static string CurrentPlatform => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm64 => "arm64",
        _ => "x86_64",
    };

    /// <summary>True when this x86 CPU has VNNI (AVX-VNNI or AVX512-VNNI), read from /proc/cpuinfo.</summary>
    public static bool HostHasVnni()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    var flags = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return flags.Contains("avx512_vnni") || flags.Contains("avx_vnni");
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return System.Runtime.Intrinsics.X86.AvxVnni.IsSupported;
    }

    /// <summary>Whether weights are reduced to 7 bits, and why, for the manifest.</summary>
    public static (bool Reduced, string Reason) Decide(WeightRange choice, string? targetPlatform)
    {
        string target = targetPlatform ?? CurrentPlatform;
        return choice switch
        {
            WeightRange.Full => (false, "full-range int8 weights (asked)"),
            WeightRange.Reduced => (true, "reduce-range 7-bit weights (asked)"),
            _ when target == "arm64" => (false, "full-range int8 weights (arm64)"),
            _ when targetPlatform is null && HostHasVnni() => (false, "full-range int8 weights (x86_64 with VNNI)"),
            _ => (true, "reduce-range 7-bit weights (x86_64 without VNNI: u8*s8 would saturate)"),
        };
    }
}
