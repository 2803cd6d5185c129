using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeRuntime.Inference;

namespace EdgeRuntime.Evaluation.Benchmarking;

/// <summary>Where a benchmark ran: figures mean little without the CPU, its vector units and the thread count.</summary>
public sealed record MachineInfo(
    string Os,
    string Architecture,
    string CpuModel,
    int LogicalCores,
    IReadOnlyList<string> InstructionSets,
    int IntraOpThreads,
    bool SharedThreadPool,
    string OnnxRuntimeVersion,
    string DotnetVersion)
{
    public static MachineInfo Current()
    {
        var isa = new List<string>();
        if (Sse41.IsSupported) isa.Add("sse4.1");
        if (Avx.IsSupported) isa.Add("avx");
        if (Avx2.IsSupported) isa.Add("avx2");
        if (Fma.IsSupported) isa.Add("fma");
        if (Avx512F.IsSupported) isa.Add("avx512f");
        if (Avx512BW.IsSupported) isa.Add("avx512bw");
        if (AvxVnni.IsSupported) isa.Add("avx-vnni");
        if (Avx512Vbmi.IsSupported) isa.Add("avx512vbmi");
        if (AdvSimd.IsSupported) isa.Add("neon");
        if (Dp.IsSupported) isa.Add("dotprod");
        if (Rdm.IsSupported) isa.Add("rdm");
        SharedOrtEnvironment.EnsureInitialized();
        return new MachineInfo(
            RuntimeInformation.OSDescription,
            RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            ReadCpuModel(),
            Environment.ProcessorCount,
            isa,
            SharedOrtEnvironment.IntraOpThreads,
            SharedOrtEnvironment.UsesGlobalThreadPool,
            Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString(),
            RuntimeInformation.FrameworkDescription);
    }

    public override string ToString() =>
        $"{CpuModel} ({Architecture}, {LogicalCores} cores; {string.Join(" ", InstructionSets)}), " +
        $"ONNX Runtime {OnnxRuntimeVersion}, {IntraOpThreads} intra-op thread(s){(SharedThreadPool ? " shared" : "")}";

    private static string ReadCpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) || line.StartsWith("Model", StringComparison.Ordinal))
                {
                    return line[(line.IndexOf(':') + 1)..].Trim();
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return "unknown CPU";
    }
}
