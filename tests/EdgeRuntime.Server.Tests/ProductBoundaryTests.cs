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

    [GeneratedRegex(@"\bEdgeRuntime\.Protocol\b|\bProtocol\.(Messages|ErrorCode|Frame|MessageType)|\bProtocolException\b")]
    private static partial Regex ProtocolUse();

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

    /// <summary>
    /// Requests and decisions travel through the daemon in its own types; only the connection edge (and the options
    /// that configure its framing) maps them to and from the wire.
    /// </summary>
    [Fact]
    public void Only_the_connection_edge_of_the_server_speaks_the_protocol()
    {
        string server = Path.Combine(RepositoryRoot.Find(), "src", "EdgeRuntime.Server");
        string edge = Path.Combine(server, "Connections") + Path.DirectorySeparatorChar;
        var offending = Directory.EnumerateFiles(server, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => !f.StartsWith(edge, StringComparison.Ordinal) && Path.GetFileName(f) != "ServerOptions.cs")
            .Where(f => ProtocolUse().IsMatch(File.ReadAllText(f)))
            .Select(f => Path.GetRelativePath(server, f))
            .ToList();
        Assert.NotEmpty(Directory.EnumerateFiles(edge, "*.cs"));
        Assert.Empty(offending);
    }
}
