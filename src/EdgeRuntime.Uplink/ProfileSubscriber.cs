using System.Buffers;
using System.Text;
using System.Text.Json;
using EdgeRuntime.Governance;
using MQTTnet;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Uplink;

/// <summary>What happened to one profile message.</summary>
/// <param name="Accepted">Now in force.</param>
/// <param name="Reason">Why it was refused, or what is in force.</param>
public sealed record ProfileDelivery(bool Accepted, string Reason, long? Version, string? Hash, DateTimeOffset At);

/// <summary>
/// Takes governor profiles from the fleet: subscribes to the retained <c>{prefix}/profiles/{deviceClass}</c>,
/// checks each message (the SHA-256 carried with it matches the payload, the profile passes the schema, is for
/// this device class and newer than the one in force) and hands it to <see cref="ProfileStore.Offer(GovernorProfile, string)"/>,
/// which swaps it in at once. A refused profile leaves the current one in force; the refusal is logged, kept in
/// <see cref="LastRefusal"/> and published to <c>{prefix}/status/{deviceId}</c>.
/// </summary>
public sealed class ProfileSubscriber
{
    /// <summary>Largest payload looked at; real profiles are a few kilobytes.</summary>
    public const int MaxProfileBytes = 1 << 20;

    private readonly UplinkOptions _options;
    private readonly MqttSession _session;
    private readonly ProfileStore _profiles;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _topic;
    private readonly Lock _gate = new();
    private string? _acceptedHash;
    private ProfileDelivery? _lastAccepted;
    private ProfileDelivery? _lastRefusal;
    private long _accepted;
    private long _refused;

    public ProfileSubscriber(UplinkOptions options, MqttSession session, ProfileStore profiles, TimeProvider? time = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _session = session;
        _profiles = profiles;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _topic = UplinkTopics.Profile(options.TopicPrefix, options.DeviceClass);
        if (profiles.Current.DeviceClass != options.DeviceClass)
        {
            throw new ArgumentException($"invalid uplink options: DeviceClass '{options.DeviceClass}' differs from the profile in force ('{profiles.Current.DeviceClass}')");
        }
        _session.MessageReceived += OnMessageAsync;
    }

    /// <summary>Raised after each profile message was judged (the daemon shows it in its status).</summary>
    public event Action<ProfileDelivery>? Delivered;

    public string Topic => _topic;
    public long Accepted => Interlocked.Read(ref _accepted);
    public long Refused => Interlocked.Read(ref _refused);
    public ProfileDelivery? LastAccepted => Volatile.Read(ref _lastAccepted);
    public ProfileDelivery? LastRefusal => Volatile.Read(ref _lastRefusal);

    public Task StartAsync(CancellationToken cancellationToken) => _session.SubscribeAsync(_topic, cancellationToken);

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        var message = e.ApplicationMessage;
        if (message.Topic != _topic)
        {
            return;
        }
        if (message.Payload.Length == 0)
        {
            return; // A retained message being cleared, not a profile.
        }
        var delivery = Judge(message);
        if (delivery is null)
        {
            return;
        }
        Delivered?.Invoke(delivery);
        await ReportAsync(delivery).ConfigureAwait(false);
    }

    /// <summary>Checks and offers one message; null for a redelivery of the profile already in force.</summary>
    internal ProfileDelivery? Judge(MqttApplicationMessage message)
    {
        var now = _time.GetUtcNow();
        string source = $"mqtt {message.Topic}";
        if (message.Payload.Length > MaxProfileBytes)
        {
            return Refuse($"{source}: the payload is {message.Payload.Length} bytes; at most {MaxProfileBytes}", null, null, now);
        }
        byte[] payload = message.Payload.ToArray();
        string hash = ProfileMessage.Hash(payload);
        string? carried = message.UserProperties?.FirstOrDefault(p => p.Name == ProfileMessage.HashProperty)?.ReadValueAsString();
        if (carried is null)
        {
            return Refuse($"{source}: the message carries no '{ProfileMessage.HashProperty}' property", null, hash, now);
        }
        if (!string.Equals(carried, hash, StringComparison.OrdinalIgnoreCase))
        {
            return Refuse($"{source}: sha256 of the payload is {hash}, the message says {carried}: damaged or altered", null, hash, now);
        }
        lock (_gate)
        {
            // A retained profile comes again after every reconnect that lost the session: not news.
            if (hash == _acceptedHash)
            {
                return null;
            }
        }
        GovernorProfile candidate;
        try
        {
            candidate = ProfileJson.Parse(Encoding.UTF8.GetString(payload), source);
        }
        catch (ProfileException problem)
        {
            return Refuse(problem.Message, null, hash, now);
        }
        var update = _profiles.Offer(candidate, source);
        if (!update.Accepted)
        {
            // The same profile already in force (from a file, or from before a restart): not a refusal worth reporting.
            if (candidate.Version == update.Current.Version && ProfileJson.Serialize(candidate) == ProfileJson.Serialize(update.Current))
            {
                lock (_gate)
                {
                    _acceptedHash = hash;
                }
                return null;
            }
            return Refuse(update.Reason, candidate.Version, hash, now);
        }
        lock (_gate)
        {
            _acceptedHash = hash;
        }
        Interlocked.Increment(ref _accepted);
        var accepted = new ProfileDelivery(true, $"profile {candidate.DeviceClass} version {candidate.Version} in force (from {source})", candidate.Version, hash, now);
        Volatile.Write(ref _lastAccepted, accepted);
        _logger.LogInformation("Profile {DeviceClass} version {Version} from {Source} in force", candidate.DeviceClass, candidate.Version, source);
        return accepted;
    }

    private ProfileDelivery Refuse(string reason, long? version, string? hash, DateTimeOffset now)
    {
        Interlocked.Increment(ref _refused);
        var refusal = new ProfileDelivery(false, reason, version, hash, now);
        Volatile.Write(ref _lastRefusal, refusal);
        _logger.LogWarning("Refused profile: {Reason}; version {Version} stays in force", reason, _profiles.Current.Version);
        return refusal;
    }

    /// <summary>Tells the fleet (retained, so the latest outcome is there for whoever looks).</summary>
    private async Task ReportAsync(ProfileDelivery delivery)
    {
        var status = new
        {
            kind = delivery.Accepted ? "profile-accepted" : "profile-refused",
            device_id = _options.DeviceId,
            device_class = _options.DeviceClass,
            version = delivery.Version,
            sha256 = delivery.Hash,
            reason = delivery.Reason,
            in_force = _profiles.Current.Version,
            at_unix_ms = delivery.At.ToUnixTimeMilliseconds(),
        };
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(UplinkTopics.Status(_options.TopicPrefix, _options.DeviceId))
            .WithPayload(JsonSerializer.SerializeToUtf8Bytes(status))
            .WithContentType("application/json")
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .Build();
        try
        {
            // Not awaited inside the receive handler's acknowledgement path for long: a short timeout.
            using var timeout = new CancellationTokenSource(_options.Broker.Timeout);
            if (await _session.PublishAsync(message, timeout.Token).ConfigureAwait(false) is string refusal)
            {
                _logger.LogWarning("Profile status not published: {Reason}", refusal);
            }
        }
        catch (Exception e) when (e is MqttSessionException or OperationCanceledException)
        {
            _logger.LogWarning("Profile status not published: {Reason}", e.Message);
        }
    }
}
