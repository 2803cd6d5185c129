using EdgeRuntime.Protocol;

namespace EdgeRuntime.Client;

/// <summary>Where the daemon is and how hard to try reaching it.</summary>
public sealed class EdgertClientOptions
{
    public const string DefaultSocketPath = "/run/edgeruntime/edgertd.sock";

    /// <summary>The daemon's Unix socket; used unless <see cref="TcpPort"/> is set.</summary>
    public string SocketPath { get; set; } = DefaultSocketPath;

    /// <summary>Loopback TCP port instead of the Unix socket (needs <see cref="Token"/>).</summary>
    public int? TcpPort { get; set; }

    public string TcpHost { get; set; } = "127.0.0.1";

    public string? Token { get; set; }

    /// <summary>Sent in the hello, shows up in the daemon's logs.</summary>
    public string ClientName { get; set; } = "edgeruntime-client";

    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First wait before reconnecting; doubles per failed attempt up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Connection attempts per call before it fails with <see cref="EdgertConnectionException"/>.</summary>
    public int MaxConnectAttempts { get; set; } = 6;

    /// <summary>Largest frame sent or accepted; the daemon's cap (from its hello) applies too.</summary>
    public int MaxFrameBytes { get; set; } = FrameLimits.DefaultMaxFrameBytes;

    /// <summary>Events buffered per subscription; the oldest are dropped beyond it.</summary>
    public int EventBuffer { get; set; } = 1024;

    public string Endpoint => TcpPort is int port ? $"tcp://{TcpHost}:{port}" : $"unix:{SocketPath}";

    public void Validate()
    {
        var problems = new List<string>();
        if (TcpPort is < 1 or > 65535)
        {
            problems.Add($"TcpPort {TcpPort} is not a port");
        }
        if (TcpPort is null && string.IsNullOrEmpty(SocketPath))
        {
            problems.Add("SocketPath is empty");
        }
        if (ConnectTimeout <= TimeSpan.Zero || InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            problems.Add("timeouts must be positive and MaxBackoff at least InitialBackoff");
        }
        if (MaxConnectAttempts < 1)
        {
            problems.Add("MaxConnectAttempts must be at least 1");
        }
        if (MaxFrameBytes < 64)
        {
            problems.Add("MaxFrameBytes must be at least 64");
        }
        if (EventBuffer < 1)
        {
            problems.Add("EventBuffer must be at least 1");
        }
        if (problems.Count > 0)
        {
            throw new ArgumentException($"invalid client options: {string.Join("; ", problems)}");
        }
    }
}
