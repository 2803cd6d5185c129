using System.Globalization;
using EdgeRuntime.Deployment;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>How the simulated devices of a deployment run.</summary>
public sealed record SimulatedFleetOptions
{
    public int Devices { get; init; } = 50;
    public string DeviceClass { get; init; } = "raspberry-pi-4";
    public required string BundleName { get; init; }
    /// <summary>The trusted public keys every device holds.</summary>
    public required string TrustedKeysDirectory { get; init; }
    /// <summary>The broker; each device connects under this client id followed by its own id.</summary>
    public required MqttBrokerOptions Broker { get; init; }
    public string TopicPrefix { get; init; } = UplinkTopics.DefaultPrefix;
    public ProbationOptions Probation { get; init; } = new() { Period = TimeSpan.FromSeconds(2) };
    /// <summary>How often each device serves a request on its active version.</summary>
    public TimeSpan RequestInterval { get; init; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Latency a request must meet for SLO attainment (generous: 50 devices share a few cores).</summary>
    public double SloMs { get; init; } = 1000;
    public DownloadOptions Download { get; init; } = new() { StallTimeout = TimeSpan.FromSeconds(10) };

    public void Validate()
    {
        Broker.Validate();
        if (Devices is < 1 or > 1000)
        {
            throw new ArgumentException($"simulated fleet: devices {Devices} is not in 1-1000");
        }
        if (RequestInterval <= TimeSpan.Zero || SloMs <= 0)
        {
            throw new ArgumentException("simulated fleet: request interval and SLO must be positive");
        }
        Probation.Validate();
    }
}

/// <summary>
/// One simulated device running the real device side: its own store root (<see cref="BundleStore"/>), its own
/// MQTT session and deployment agent, and a serving runtime on the active version with a steady request loop
/// (the store's activation swaps it; its counters are what probation reads as live traffic).
/// </summary>
public sealed class SimulatedDeploymentDevice : IServingHealth, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _requests = Task.CompletedTask;

    private SimulatedDeploymentDevice(string id, BundleStore store, SimulatedServing serving, MqttSession session, DeploymentAgent agent)
    {
        Id = id;
        Store = store;
        Serving = serving;
        Session = session;
        Agent = agent;
    }

    public string Id { get; }
    public BundleStore Store { get; }
    public SimulatedServing Serving { get; }
    public MqttSession Session { get; }
    public DeploymentAgent Agent { get; }

    public ServingCounters Read(string bundleName) => new(Serving.Requests, Serving.Failures, Serving.SloMet);

    /// <summary>Opens the device's store under <paramref name="root"/> (serving its active version, if any); the agent starts with <see cref="ConnectAsync"/>.</summary>
    public static async Task<SimulatedDeploymentDevice> OpenAsync(string id, string root, SimulatedFleetOptions options, ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        loggers ??= NullLoggerFactory.Instance;
        var serving = new SimulatedServing(options.SloMs);
        SimulatedDeploymentDevice? device = null;
        var store = new BundleStore(new BundleStoreOptions
        {
            Root = Path.Combine(root, "store"),
            TrustedKeysDirectory = options.TrustedKeysDirectory,
            Probation = options.Probation,
        }, serving.ActivateAsync, new DeferredHealth(() => device), logger: loggers.CreateLogger<BundleStore>());
        if (store.ActiveDirectory(options.BundleName) is string active)
        {
            await serving.ActivateAsync(options.BundleName, active, cancellationToken).ConfigureAwait(false);
        }
        var uplink = new UplinkOptions
        {
            Broker = options.Broker.WithClientId($"{options.Broker.ClientId}-{id}"),
            TopicPrefix = options.TopicPrefix,
            DeviceId = id,
            DeviceClass = options.DeviceClass,
        };
        var session = new MqttSession(uplink.Broker, TimeSpan.FromHours(1), logger: loggers.CreateLogger<MqttSession>());
        var agent = new DeploymentAgent(uplink, new DeploymentAgentOptions
        {
            BundleName = options.BundleName,
            WorkDirectory = Path.Combine(root, "agent"),
            Download = options.Download,
            ReportRetry = TimeSpan.FromMilliseconds(500),
        }, session, store, loggers: loggers);
        device = new SimulatedDeploymentDevice(id, store, serving, session, agent);
        return device;
    }

    /// <summary>Installs and activates a first version straight from an archive (what a device is flashed with).</summary>
    public async Task ProvisionAsync(string bundleName, string version, string archivePath, CancellationToken cancellationToken)
    {
        Store.Install(bundleName, version, archivePath);
        await Store.ActivateAsync(bundleName, version, cancellationToken).ConfigureAwait(false);
        if (Store.GetState(bundleName).Phase == DeploymentPhase.Probation)
        {
            await Store.ProbateAsync(bundleName, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Starts serving requests, connects, and follows the fleet's desired state.</summary>
    public async Task ConnectAsync(TimeSpan requestInterval, CancellationToken cancellationToken)
    {
        _requests = Task.Run(() => Serving.RunRequestsAsync(requestInterval, _stopping.Token), CancellationToken.None);
        Session.Start();
        await Agent.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _requests.ConfigureAwait(false);
        await Agent.DisposeAsync().ConfigureAwait(false);
        await Session.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
        Serving.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The store is made before the device that reads its counters; probation only asks once it runs.</summary>
    private sealed class DeferredHealth(Func<SimulatedDeploymentDevice?> device) : IServingHealth
    {
        public ServingCounters Read(string bundleName) => device()?.Read(bundleName) ?? new ServingCounters(0, 0, 0);
    }
}

/// <summary>Requests every simulated device served, and failed, so far.</summary>
public sealed record FleetServingTally(long Requests, long Failures, long Swaps, long SwapsDuringRequests, long RequestsDuringSwaps, long FailuresDuringSwaps,
    IReadOnlyList<string> Errors);

/// <summary>A fleet of <see cref="SimulatedDeploymentDevice"/>s, each provisioned with a first version, announced to the fleet database by a telemetry record.</summary>
public sealed class SimulatedDeploymentFleet : IAsyncDisposable
{
    private SimulatedDeploymentFleet(SimulatedFleetOptions options, IReadOnlyList<SimulatedDeploymentDevice> devices)
    {
        Options = options;
        Devices = devices;
    }

    public SimulatedFleetOptions Options { get; }
    public IReadOnlyList<SimulatedDeploymentDevice> Devices { get; }

    public static string DeviceId(int index) => string.Create(CultureInfo.InvariantCulture, $"sim-{index:D3}");

    /// <summary>Opens every device under <paramref name="root"/>, provisions <paramref name="firstArchive"/> as <paramref name="firstVersion"/> where nothing is active, and connects them.</summary>
    public static async Task<SimulatedDeploymentFleet> StartAsync(SimulatedFleetOptions options, string root, string firstVersion, string firstArchive,
        ILoggerFactory? loggers, CancellationToken cancellationToken)
    {
        options.Validate();
        var devices = new List<SimulatedDeploymentDevice>();
        try
        {
            for (int i = 0; i < options.Devices; i++)
            {
                string id = DeviceId(i);
                var device = await SimulatedDeploymentDevice.OpenAsync(id, Path.Combine(root, id), options, loggers, cancellationToken).ConfigureAwait(false);
                devices.Add(device);
                if (device.Store.GetState(options.BundleName).ActiveVersion is null)
                {
                    await device.ProvisionAsync(options.BundleName, firstVersion, firstArchive, cancellationToken).ConfigureAwait(false);
                }
            }
            foreach (var device in devices)
            {
                await device.ConnectAsync(options.RequestInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            foreach (var device in devices)
            {
                await device.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
        return new SimulatedDeploymentFleet(options, devices);
    }

    /// <summary>One telemetry record per device into the fleet database: how a rollout learns which devices a class has.</summary>
    public void Announce(string databasePath, DateTimeOffset at)
    {
        using var store = FleetStore.Open(databasePath);
        store.IngestRecords([.. Devices.Select(d => new TelemetryRecord
        {
            Kind = TelemetryRecordKind.Sensor,
            Sensor = new SensorSample { Name = "uptime_seconds", Value = 0, Unit = "s" },
            DeviceId = d.Id,
            DeviceClass = Options.DeviceClass,
            Sequence = 1,
            UnixTimeMilliseconds = at.ToUnixTimeMilliseconds(),
        })]);
    }

    public FleetServingTally Tally() => new(Devices.Sum(d => d.Serving.Requests), Devices.Sum(d => d.Serving.Failures), Devices.Sum(d => d.Serving.Swaps),
        Devices.Sum(d => d.Serving.SwapsDuringRequests), Devices.Sum(d => d.Serving.RequestsDuringSwaps), Devices.Sum(d => d.Serving.FailuresDuringSwaps), [.. Devices.SelectMany(d => d.Serving.Errors.Select(e => $"{d.Id}: {e}")).Take(10)]);

    /// <summary>Active version of each device (as its store says).</summary>
    public IReadOnlyDictionary<string, string?> ActiveVersions() => Devices.ToDictionary(d => d.Id, d => d.Store.GetState(Options.BundleName).ActiveVersion);

    public async ValueTask DisposeAsync()
    {
        foreach (var device in Devices)
        {
            await device.DisposeAsync().ConfigureAwait(false);
        }
    }
}
