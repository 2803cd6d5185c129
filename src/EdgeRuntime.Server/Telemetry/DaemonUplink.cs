using EdgeRuntime.Deployment;
using EdgeRuntime.Governance;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Telemetry;

/// <summary>
/// The daemon's link to the fleet over MQTT: one reconnecting session that uploads the telemetry log (when there
/// is one; only records already synced to the device) and takes profiles for this board, whose outcome shows in
/// the daemon's status like a profile from a file or a client. With a bundle store it also follows the fleet's desired
/// bundle (<see cref="DeploymentAgent"/>), once the daemon serves requests (<see cref="StartDeploymentAsync"/>).
/// </summary>
internal sealed class DaemonUplink : IAsyncDisposable
{
    private readonly MqttSession _session;

    private DaemonUplink(MqttSession session, TelemetryUplink? telemetry, ProfileSubscriber profiles, DeploymentAgent? deployment)
    {
        _session = session;
        Telemetry = telemetry;
        Profiles = profiles;
        Deployment = deployment;
    }

    public TelemetryUplink? Telemetry { get; }
    public ProfileSubscriber Profiles { get; }
    public DeploymentAgent? Deployment { get; }
    public MqttSession Session => _session;

    /// <param name="store">The bundle store, when the daemon serves one; <paramref name="servedBundles"/> are the names it serves.</param>
    public static async Task<DaemonUplink> StartAsync(ServerOptions options, GovernorLoop governance, TelemetryLog? log, IDeviceDeployment? store,
        IReadOnlyList<string> servedBundles, TimeProvider time, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var uplinkOptions = options.Uplink(governance.Board.Id);
        try
        {
            uplinkOptions.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"MQTT uplink: {e.Message}", e);
        }
        var logger = loggers.CreateLogger<DaemonUplink>();
        var session = new MqttSession(uplinkOptions.Broker, uplinkOptions.SessionExpiry, time, loggers.CreateLogger<MqttSession>());
        var subscriber = new ProfileSubscriber(uplinkOptions, session, governance.Profiles, time, loggers.CreateLogger<ProfileSubscriber>());
        string source = $"mqtt {subscriber.Topic}";
        subscriber.Delivered += delivery => governance.RecordProfileOutcome(new ProfileUpdate(delivery.Accepted, delivery.Reason, governance.Profiles.Current), source);
        TelemetryUplink? telemetry = log is null ? null
            : new TelemetryUplink(uplinkOptions, session, time, loggers.CreateLogger<TelemetryUplink>(), () => log.DurableSequence);
        DeploymentAgent? deployment = null;
        if (store is not null && options.StoreRoot is not null)
        {
            // One desired state per device: delivery follows one bundle name.
            if (servedBundles.Count == 1)
            {
                deployment = new DeploymentAgent(uplinkOptions, new DeploymentAgentOptions
                {
                    BundleName = servedBundles[0],
                    WorkDirectory = Path.Combine(options.StoreRoot, "delivery"),
                }, session, store, time, loggers);
            }
            else
            {
                logger.LogWarning("Model delivery over MQTT follows one bundle per device; this daemon serves {Count} ({Names}), so it is off",
                    servedBundles.Count, string.Join(", ", servedBundles));
            }
        }
        session.Start();
        await subscriber.StartAsync(cancellationToken).ConfigureAwait(false);
        telemetry?.Start();
        logger.LogInformation("MQTT uplink to {Endpoint}: profiles from {Topic}{Telemetry}{Deployment}", session.Endpoint, subscriber.Topic,
            telemetry is null ? " (no telemetry log to upload)" : $", telemetry to {telemetry.Topic}",
            deployment is null ? "" : $", model delivery for '{servedBundles[0]}' (status on {deployment.StatusTopic})");
        return new DaemonUplink(session, telemetry, subscriber, deployment);
    }

    /// <summary>Starts following the fleet's desired bundle: only once requests are served, since an activation hot-swaps the served model.</summary>
    public async Task StartDeploymentAsync(CancellationToken cancellationToken)
    {
        if (Deployment is not null)
        {
            await Deployment.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Deployment is not null)
        {
            await Deployment.DisposeAsync().ConfigureAwait(false);
        }
        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync().ConfigureAwait(false);
        }
        await _session.DisposeAsync().ConfigureAwait(false);
    }
}
