using System.ComponentModel.DataAnnotations;
using System.Net;
using EdgeRuntime.Inference;
using EdgeRuntime.Protocol;

namespace EdgeRuntime.Server;

/// <summary>How edgertd listens, queues and serves. Bound from the "Edgertd" configuration section and validated at start.</summary>
public sealed class ServerOptions : IValidatableObject
{
    public const string SectionName = "Edgertd";
    public const string DefaultSocketName = "edgertd.sock";
    public const string AutoBoard = "auto";

    /// <summary>Directory for the socket (systemd's RuntimeDirectory); every default path lives under it.</summary>
    [Required]
    public string RuntimeDirectory { get; set; } = "/run/edgeruntime";

    /// <summary>The Unix socket; relative paths are under <see cref="RuntimeDirectory"/>. Null: RuntimeDirectory/edgertd.sock.</summary>
    public string? SocketPath { get; set; }

    /// <summary>Permissions of the socket file, in octal. Apps reach the daemon through the group.</summary>
    [RegularExpression("^0?[0-7]{3}$", ErrorMessage = "SocketMode must be an octal mode such as 0660")]
    public string SocketMode { get; set; } = "0660";

    /// <summary>Group that owns the socket (name or number); null leaves the daemon's group.</summary>
    public string? SocketGroup { get; set; }

    /// <summary>Also listen on TCP at this port (0: any free port); null for the Unix socket only.</summary>
    [Range(0, 65535)]
    public int? TcpPort { get; set; }

    /// <summary>Address to listen on for TCP; only loopback addresses are accepted.</summary>
    public string TcpAddress { get; set; } = "127.0.0.1";

    /// <summary>Shared secret a TCP client sends in its hello; required with <see cref="TcpPort"/>.</summary>
    public string? TcpToken { get; set; }

    /// <summary>
    /// Directory of trusted signing keys (*.pub, a 'revoked' list): every bundle is then checked against them at
    /// start and on reload (signature, every file's hash) and refused with the reason when it fails.
    /// </summary>
    public string? TrustedKeysDirectory { get; set; }

    /// <summary>A device bundle store (DEPLOYMENT.md): serve the active version of every bundle in it, and hot-swap on activation. Needs <see cref="TrustedKeysDirectory"/>.</summary>
    public string? StoreRoot { get; set; }

    /// <summary>How long live traffic is watched after a store activation before the version is committed.</summary>
    public double ProbationSeconds { get; set; } = 300;

    /// <summary>Probation fails when a new version's median latency exceeds the replaced one's by this factor.</summary>
    public double ProbationMaxLatencyRatio { get; set; } = 1.3;

    /// <summary>Bundle directories (or single .onnx files) to serve; relative paths are under <see cref="BundleRoot"/>.</summary>
    public List<string> Bundles { get; set; } = [];

    /// <summary>Where bundles live: relative bundle paths are under it, and reloads may only open bundles under it.
    /// Null: the parent directory of the served bundles (their common ancestor).</summary>
    public string? BundleRoot { get; set; }

    /// <summary>Models (by bundle name; "*" for all) whose inputs may hold NaN or ±Inf. Others refuse such inputs
    /// with InvalidInput naming the input and the first bad index, unless the request sets allow_non_finite.</summary>
    public List<string> AllowNonFiniteInputs { get; set; } = [];

    public bool AllowsNonFinite(string model) => AllowNonFiniteInputs.Contains("*") || AllowNonFiniteInputs.Contains(model);

    /// <summary>Inference workers; null for one per processor.</summary>
    [Range(1, 256)]
    public int? Workers { get; set; }

    /// <summary>Requests that may wait for a worker; beyond it requests get Overloaded. Bounds memory at
    /// about (QueueCapacity + Workers) × MaxFrameBytes.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 64;

    /// <summary>Requests one connection may have waiting or running.</summary>
    [Range(1, 1_000_000)]
    public int MaxPendingPerConnection { get; set; } = 64;

    [Range(1, 100_000)]
    public int MaxConnections { get; set; } = 128;

    /// <summary>Connections one user (the peer's uid, from the kernel) may hold on the Unix socket, so one app cannot take every slot.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 64;

    /// <summary>Connections one process (the peer's pid) may hold on the Unix socket; below the per-user share so
    /// another process of the same user (edgert status) still gets in.</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerProcess { get; set; } = 32;

    /// <summary>A new connection must send its first complete frame within this time, or it is closed.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection with nothing in flight and no subscription that sends no frame for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A frame's 4-byte length prefix, once started, must be complete within this time.</summary>
    public TimeSpan HeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A frame's payload, once its prefix is read, must be complete within this time (slow clients are cut off).</summary>
    public TimeSpan BodyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    [Range(64, 1 << 30)]
    public int MaxFrameBytes { get; set; } = FrameLimits.DefaultMaxFrameBytes;

    [Range(4, 64)]
    public int MaxNestingDepth { get; set; } = FrameLimits.DefaultMaxDepth;

    /// <summary>Events held for a subscriber that reads slowly; older ones beyond it are dropped and counted.</summary>
    [Range(1, 100_000)]
    public int EventBufferPerConnection { get; set; } = 256;

    [Range(1, 1024)]
    public int MaxHints { get; set; } = 64;

    /// <summary>How long shutdown waits for accepted requests to finish.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A worker busy on one request longer than this makes the daemon unhealthy (no watchdog pings).</summary>
    public TimeSpan StallLimit { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Threads in ONNX Runtime's intra-op pool; null for its default. With several workers, 1 avoids oversubscription.</summary>
    [Range(1, 1024)]
    public int? IntraOpThreads { get; set; }

    /// <summary>Fixed threads and spinning for every request ("1", "all", "all,spin"); null lets the governor choose them
    /// (or, without a governor, the whole pool without spinning).</summary>
    public string? Knobs { get; set; }

    /// <summary>ONNX Runtime's CPU memory arena for every session; off returns memory after each run.</summary>
    public bool CpuMemoryArena { get; set; } = true;

    /// <summary>One CPU memory arena shared by every session of the daemon instead of one per session.</summary>
    public bool SharedCpuArena { get; set; }

    /// <summary>Keep only the serving variant and the next lighter one loaded; others load when switched to.</summary>
    public bool StandbyOnly { get; set; }

    /// <summary><see cref="Knobs"/> parsed; null when the governor chooses.</summary>
    public ExecutionKnobs? FixedKnobs => Knobs is null ? null : ExecutionKnobs.Parse(Knobs);

    /// <summary>Board descriptor id (raspberry-pi-4, jetson-orin-nano, ...) or "auto" to detect it under <see cref="SysfsRoot"/>.</summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9-]{0,63}$", ErrorMessage = "Board must be \"auto\" or a board descriptor id such as raspberry-pi-4")]
    public string Board { get; set; } = AutoBoard;

    /// <summary>The directory that stands for "/" when reading sensors: "/" on a device, a simulated tree in tests.</summary>
    [Required]
    public string SysfsRoot { get; set; } = "/";

    /// <summary>Governor profile file, re-read whenever it changes; null for the built-in profile of the board.</summary>
    public string? ProfilePath { get; set; }

    /// <summary>Let the governor switch variants from what the device measures. Off: sensors are still reported.</summary>
    public bool Adaptive { get; set; } = true;

    /// <summary>Directory of the device's telemetry log (inference summaries, switches, sensor samples, errors); null: no telemetry.</summary>
    public string? TelemetryDirectory { get; set; }

    /// <summary>This device's id in telemetry and on MQTT; null: the host name.</summary>
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ErrorMessage = "DeviceId must be 1-64 letters, digits, '.', '_' or '-'")]
    public string? DeviceId { get; set; }

    /// <summary>Seconds between inference summaries and sensor samples in the telemetry log.</summary>
    [Range(0.1, 3600)]
    public double TelemetryIntervalSeconds { get; set; } = 10;

    /// <summary>MQTT broker as HOST:PORT: upload the telemetry log and take profiles from the fleet; null: no uplink.</summary>
    public string? MqttBroker { get; set; }

    /// <summary>MQTT client id (the broker keeps the device's session under it); null: "edgertd-" and the device id.</summary>
    public string? MqttClientId { get; set; }

    public string MqttTopicPrefix { get; set; } = "edgert";
    public bool MqttTls { get; set; }
    /// <summary>PEM file of the CA that signed the broker's certificate; null: the system trust store.</summary>
    public string? MqttCaFile { get; set; }
    public string? MqttUsername { get; set; }
    /// <summary>From the settings file or the environment (Edgertd__MqttPassword), never the command line.</summary>
    public string? MqttPassword { get; set; }

    public string ResolvedDeviceId => DeviceId ?? System.Net.Dns.GetHostName();

    public string ResolvedSocketPath =>
        Path.GetFullPath(Path.Combine(RuntimeDirectory, SocketPath ?? DefaultSocketName));

    public int ResolvedWorkers => Workers ?? Environment.ProcessorCount;

    public UnixFileMode ResolvedSocketMode => (UnixFileMode)Convert.ToInt32(SocketMode, 8);

    public FrameLimits Limits => new() { MaxFrameBytes = MaxFrameBytes, MaxDepth = MaxNestingDepth };

    public string ResolveBundlePath(string path) =>
        Path.GetFullPath(BundleRoot is null ? path : Path.Combine(BundleRoot, path));

    /// <summary>The directory reloads are confined to: <see cref="BundleRoot"/>, or the deepest directory that holds every served bundle.</summary>
    public string ResolvedBundleRoot
    {
        get
        {
            if (BundleRoot is not null)
            {
                return Path.TrimEndingDirectorySeparator(Path.GetFullPath(BundleRoot));
            }
            var parents = Bundles.Select(b => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(ResolveBundlePath(b))) ?? "/").ToList();
            if (StoreRoot is not null)
            {
                parents.Add(Path.TrimEndingDirectorySeparator(Path.GetFullPath(StoreRoot)));
            }
            string common = parents.Count == 0 ? Path.GetFullPath(".") : parents[0];
            foreach (string parent in parents.Skip(1))
            {
                while (!IsUnder(parent, common))
                {
                    common = Path.GetDirectoryName(common) ?? "/";
                }
            }
            return common;
        }
    }

    /// <summary>Whether <paramref name="path"/> is <paramref name="root"/> or inside it (full paths, no ".." left).</summary>
    public static bool IsUnder(string path, string root)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string top = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        if (top == "/" || full == top)
        {
            return true;
        }
        return full.StartsWith(top + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        string? knobsProblem = null;
        try
        {
            _ = FixedKnobs;
        }
        catch (FormatException e)
        {
            knobsProblem = e.Message;
        }
        if (knobsProblem is not null)
        {
            yield return new ValidationResult($"Knobs: {knobsProblem}", [nameof(Knobs)]);
        }
        if (Bundles.Count == 0 && StoreRoot is null)
        {
            yield return new ValidationResult("at least one bundle (or a bundle store) must be given", [nameof(Bundles)]);
        }
        if (StoreRoot is not null && TrustedKeysDirectory is null)
        {
            yield return new ValidationResult("a bundle store needs trusted keys (TrustedKeysDirectory): it installs only signed bundles", [nameof(TrustedKeysDirectory)]);
        }
        if (ProbationSeconds < 0 || ProbationMaxLatencyRatio < 1)
        {
            yield return new ValidationResult("ProbationSeconds must be at least 0 and ProbationMaxLatencyRatio at least 1", [nameof(ProbationSeconds)]);
        }
        if (TrustedKeysDirectory is not null && !Directory.Exists(TrustedKeysDirectory))
        {
            yield return new ValidationResult($"trusted keys directory '{TrustedKeysDirectory}' does not exist", [nameof(TrustedKeysDirectory)]);
        }
        if (Bundles.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult("a bundle path is empty", [nameof(Bundles)]);
        }
        if (TcpPort is not null)
        {
            if (string.IsNullOrEmpty(TcpToken) || TcpToken.Length < 8)
            {
                yield return new ValidationResult("TCP needs a token of at least 8 characters (TcpToken)", [nameof(TcpToken)]);
            }
            if (!IPAddress.TryParse(TcpAddress, out var address) || !IPAddress.IsLoopback(address))
            {
                yield return new ValidationResult($"TcpAddress '{TcpAddress}' is not a loopback address; the daemon only listens on loopback", [nameof(TcpAddress)]);
            }
        }
        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromMinutes(10))
        {
            yield return new ValidationResult("DrainTimeout must be between 0 and 10 minutes", [nameof(DrainTimeout)]);
        }
        foreach (var (name, value, max) in new[]
        {
            (nameof(HandshakeTimeout), HandshakeTimeout, TimeSpan.FromHours(1)),
            (nameof(IdleTimeout), IdleTimeout, TimeSpan.FromDays(7)),
            (nameof(HeaderTimeout), HeaderTimeout, TimeSpan.FromHours(1)),
            (nameof(BodyTimeout), BodyTimeout, TimeSpan.FromHours(1)),
        })
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                yield return new ValidationResult($"{name} must be positive and at most {max.TotalSeconds:0} s, got {value.TotalSeconds} s", [name]);
            }
        }
        if (MaxConnectionsPerProcess > MaxConnectionsPerUser)
        {
            yield return new ValidationResult($"MaxConnectionsPerProcess ({MaxConnectionsPerProcess}) must not exceed MaxConnectionsPerUser ({MaxConnectionsPerUser})", [nameof(MaxConnectionsPerProcess)]);
        }
        if (BundleRoot is not null && string.IsNullOrWhiteSpace(BundleRoot))
        {
            yield return new ValidationResult("BundleRoot is empty; leave it out for the parent directory of the bundles", [nameof(BundleRoot)]);
        }
        if (StallLimit <= TimeSpan.Zero)
        {
            yield return new ValidationResult("StallLimit must be positive", [nameof(StallLimit)]);
        }
        if (string.IsNullOrWhiteSpace(SysfsRoot))
        {
            yield return new ValidationResult("SysfsRoot must name a directory (\"/\" on a device)", [nameof(SysfsRoot)]);
        }
        if (ProfilePath is not null && string.IsNullOrWhiteSpace(ProfilePath))
        {
            yield return new ValidationResult("ProfilePath is empty; leave it out for the built-in profile", [nameof(ProfilePath)]);
        }
        if (TelemetryDirectory is not null && string.IsNullOrWhiteSpace(TelemetryDirectory))
        {
            yield return new ValidationResult("TelemetryDirectory is empty; leave it out for no telemetry", [nameof(TelemetryDirectory)]);
        }
        if (MqttBroker is not null)
        {
            string? problem = null;
            try
            {
                EdgeRuntime.Uplink.MqttBrokerOptions.ParseEndpoint(MqttBroker);
                // The board (the device class) is only known at start; any valid id stands in for the check.
                problem = string.Join("; ", Uplink("board-checked-at-start").Problems());
            }
            catch (ArgumentException e)
            {
                problem = e.Message;
            }
            if (!string.IsNullOrEmpty(problem))
            {
                yield return new ValidationResult($"MQTT uplink: {problem}", [nameof(MqttBroker)]);
            }
        }
        else if (MqttTls || MqttCaFile is not null || MqttUsername is not null)
        {
            yield return new ValidationResult("MqttTls, MqttCaFile and MqttUsername need MqttBroker", [nameof(MqttBroker)]);
        }
        if (ResolvedSocketPathOrNull() is { Length: > 107 } socket)
        {
            yield return new ValidationResult($"socket path '{socket}' is longer than the 107 bytes a Unix socket address holds", [nameof(SocketPath)]);
        }
    }

    /// <summary>The uplink settings for a device of this class (MqttBroker must be set).</summary>
    public EdgeRuntime.Uplink.UplinkOptions Uplink(string deviceClass)
    {
        var (host, port) = EdgeRuntime.Uplink.MqttBrokerOptions.ParseEndpoint(MqttBroker ?? throw new InvalidOperationException("no MqttBroker"));
        string deviceId = ResolvedDeviceId;
        return new EdgeRuntime.Uplink.UplinkOptions
        {
            Broker = new EdgeRuntime.Uplink.MqttBrokerOptions
            {
                Host = host,
                Port = port,
                ClientId = MqttClientId ?? $"edgertd-{deviceId}",
                UseTls = MqttTls,
                CaFile = MqttCaFile,
                Username = MqttUsername,
                Password = MqttPassword,
            },
            TopicPrefix = MqttTopicPrefix,
            DeviceId = deviceId,
            DeviceClass = deviceClass,
            LogDirectory = TelemetryDirectory is null ? null : Path.GetFullPath(TelemetryDirectory),
        };
    }

    private string? ResolvedSocketPathOrNull()
    {
        try
        {
            return ResolvedSocketPath;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> listing every invalid setting.</summary>
    public void ValidateOrThrow()
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true))
        {
            throw new ArgumentException($"invalid edgertd options: {string.Join("; ", results.Select(r => r.ErrorMessage))}");
        }
    }
}
