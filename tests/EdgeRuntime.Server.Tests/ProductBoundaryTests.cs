using System.Reflection;
using System.Text.RegularExpressions;
using EdgeRuntime.Client;
using EdgeRuntime.Devices;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Server.Tests;

/// <summary>
/// What ships to a device (the core, Devices, Server, Uplink, Client, Protocol) carries no tooling: no
/// benchmark, fuzzer, crash harness or broker launcher, and no reference to the offline or fleet projects.
/// </summary>
public sealed partial class ProductBoundaryTests
{
    private static readonly Assembly[] Product =
    [
        typeof(ModelRuntime).Assembly, typeof(DeviceMonitor).Assembly, typeof(EdgertdServer).Assembly,
        typeof(TelemetryUplink).Assembly, typeof(EdgertClient).Assembly, typeof(FrameCodec).Assembly,
    ];

    private static readonly string[] Tooling =
    [
        "EdgeRuntime.Bench", "EdgeRuntime.Compression", "EdgeRuntime.Evaluation", "EdgeRuntime.Fleet",
        "EdgeRuntime.Simulation", "EdgeRuntime.Onnx", "EdgeRuntime.Cli", "edgert",
    ];

    [GeneratedRegex("Fuzz|Benchmark|CrashTest|CrashWriter|Mosquitto|SyntheticFleet")]
    private static partial Regex HarnessName();

    [Fact]
    public void Product_assemblies_reference_no_tooling_project()
    {
        var offending = Product
            .SelectMany(a => a.GetReferencedAssemblies().Select(r => $"{a.GetName().Name} -> {r.Name}"))
            .Where(link => Tooling.Any(t => link.EndsWith("-> " + t, StringComparison.Ordinal)))
            .ToList();
        Assert.Empty(offending);
    }

    [Fact]
    public void Product_assemblies_hold_no_harness()
    {
        var offending = Product
            .SelectMany(a => a.GetTypes())
            .Select(t => t.FullName ?? t.Name)
            .Where(name => HarnessName().IsMatch(name))
            .ToList();
        Assert.Empty(offending);
    }
}
