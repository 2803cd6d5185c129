namespace EdgeRuntime.Uplink;

/// <summary>Settings of the device's MQTT uplink (telemetry and profiles); checked by <see cref="Validate"/> at start.</summary>
public sealed class UplinkOptions
{
    public MqttBrokerOptions Broker { get; set; } = new();
    /// <summary>First level of every topic (edgert/telemetry/..., edgert/profiles/...).</summary>
    public string TopicPrefix { get; set; } = UplinkTopics.DefaultPrefix;
    public string DeviceId { get; set; } = "";
    /// <summary>The board kind: the telemetry topic level and the profiles this device takes.</summary>
    public string DeviceClass { get; set; } = "";
    /// <summary>The device's telemetry log directory; null when only profiles are received.</summary>
    public string? LogDirectory { get; set; }
    /// <summary>Where the upload position is kept; null: "uplink.cursor" in the log directory.</summary>
    public string? CursorPath { get; set; }
    /// <summary>Records per message.</summary>
    public int BatchSize { get; set; } = 100;
    /// <summary>How often the log is looked at for new records once everything is sent.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// Least time between cursor writes while records stream (it is always written when the uplink catches up
    /// and when it stops). A crash resends at most this much; ingest drops the duplicates. Limits flash wear.
    /// </summary>
    public TimeSpan CursorSaveInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>How long the broker keeps the device's session (its profile subscription) while the device is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(7);

    public string ResolvedCursorPath => CursorPath ?? Path.Combine(LogDirectory ?? ".", "uplink.cursor");

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>(Broker.Problems());
        foreach (string? problem in new[]
        {
            UplinkTopics.PrefixProblem(TopicPrefix),
            UplinkTopics.LevelProblem("DeviceId", DeviceId),
            UplinkTopics.LevelProblem("DeviceClass", DeviceClass),
        })
        {
            if (problem is not null)
            {
                problems.Add(problem);
            }
        }
        if (LogDirectory is not null && string.IsNullOrWhiteSpace(LogDirectory))
        {
            problems.Add("LogDirectory is empty; leave it out to receive profiles only");
        }
        if (BatchSize is < 1 or > 10_000)
        {
            problems.Add($"BatchSize {BatchSize} is not in 1-10000");
        }
        if (PollInterval <= TimeSpan.Zero)
        {
            problems.Add($"PollInterval {PollInterval} must be positive");
        }
        if (CursorSaveInterval < TimeSpan.Zero)
        {
            problems.Add($"CursorSaveInterval {CursorSaveInterval} must not be negative");
        }
        if (SessionExpiry < TimeSpan.Zero)
        {
            problems.Add($"SessionExpiry {SessionExpiry} must not be negative");
        }
        return problems;
    }

    /// <exception cref="ArgumentException">Lists every invalid setting.</exception>
    public void Validate()
    {
        if (Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"invalid uplink options: {string.Join("; ", problems)}");
        }
    }
}
