using EdgeRuntime.Governance;
using EdgeRuntime.Server.Governance;
using EdgeRuntime.Telemetry;
using EdgeRuntime.Uplink;
using Microsoft.Extensions.Logging;

namespace EdgeRuntime.Server.Telemetry;

/// <summary>
/// The daemon's link to the fleet over MQTT: one reconnecting session that uploads the telemetry log (when there
/// is one; only records already synced to the device) and takes profiles for this board, whose outcome shows in
/// the daemon's status like a profile from a file or a client.
/// </summary>
internal sealed class DaemonUplink : IAsyncDisposable
{
    private readonly MqttSession _session;

    private DaemonUplink(MqttSession session, TelemetryUplink? telemetry, ProfileSubscriber profiles)
    {
        _session = session;
        Telemetry = telemetry;
        Profiles = profiles;
    }

    public TelemetryUplink? Telemetry { get; }
    public ProfileSubscriber Profiles { get; }
    public MqttSession Session => _session;

    public static async Task<DaemonUplink> StartAsync(ServerOptions options, GovernorLoop governance, TelemetryLog? log, TimeProvider time, ILoggerFactory loggers,
        CancellationToken cancellationToken)
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
        session.Start();
        await subscriber.StartAsync(cancellationToken).ConfigureAwait(false);
        telemetry?.Start();
        logger.LogInformation("MQTT uplink to {Endpoint}: profiles from {Topic}{Telemetry}", session.Endpoint, subscriber.Topic,
            telemetry is null ? " (no telemetry log to upload)" : $", telemetry to {telemetry.Topic}");
        return new DaemonUplink(session, telemetry, subscriber);
    }

    public async ValueTask DisposeAsync()
    {
        if (Telemetry is not null)
        {
            await Telemetry.DisposeAsync().ConfigureAwait(false);
        }
        await _session.DisposeAsync().ConfigureAwait(false);
    }
}
