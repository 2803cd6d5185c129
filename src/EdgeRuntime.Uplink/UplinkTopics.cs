namespace EdgeRuntime.Uplink;

/// <summary>
/// Topic names of the fleet loop, under a prefix (default "edgert"): telemetry as
/// <c>{prefix}/telemetry/{deviceClass}/{deviceId}</c>, retained profiles as <c>{prefix}/profiles/{deviceClass}</c>,
/// device status as <c>{prefix}/status/{deviceId}</c>, and requests to resend telemetry from a sequence number
/// (sent by ingest when it finds a hole) as <c>{prefix}/replay/{deviceId}</c>; model deployment under
/// <c>{prefix}/deploy/</c> (desired state, archive chunks, device status; see UPLINK.md).
/// </summary>
public static class UplinkTopics
{
    public const string DefaultPrefix = "edgert";

    public static string Telemetry(string prefix, string deviceClass, string deviceId) => $"{prefix}/telemetry/{deviceClass}/{deviceId}";

    /// <summary>Every device's telemetry.</summary>
    public static string AllTelemetry(string prefix) => $"{prefix}/telemetry/#";

    public static string Profile(string prefix, string deviceClass) => $"{prefix}/profiles/{deviceClass}";

    public static string Status(string prefix, string deviceId) => $"{prefix}/status/{deviceId}";

    public static string Replay(string prefix, string deviceId) => $"{prefix}/replay/{deviceId}";

    /// <summary>The bundle every device of a class should run (retained).</summary>
    public static string DesiredForClass(string prefix, string deviceClass) => $"{prefix}/deploy/desired/{deviceClass}";

    /// <summary>The bundle one device should run (retained); overrides its class's.</summary>
    public static string DesiredForDevice(string prefix, string deviceClass, string deviceId) => $"{prefix}/deploy/desired/{deviceClass}/{deviceId}";

    /// <summary>One chunk of a bundle archive (retained), named by the archive's SHA-256 so two builds of one version never mix.</summary>
    public static string BundleChunk(string prefix, string bundle, string sha256, int index) => $"{prefix}/deploy/chunks/{bundle}/{sha256}/{index}";

    /// <summary>Where a device's deployment stands (retained).</summary>
    public static string DeploymentStatus(string prefix, string deviceId) => $"{prefix}/deploy/status/{deviceId}";

    /// <summary>Every device's deployment status.</summary>
    public static string AllDeploymentStatus(string prefix) => $"{prefix}/deploy/status/+";

    /// <summary>The device class and id of a telemetry topic, or null when the topic is not one.</summary>
    public static (string DeviceClass, string DeviceId)? ParseTelemetry(string prefix, string topic)
    {
        string head = $"{prefix}/telemetry/";
        if (!topic.StartsWith(head, StringComparison.Ordinal))
        {
            return null;
        }
        string[] levels = topic[head.Length..].Split('/');
        return levels is [{ Length: > 0 } deviceClass, { Length: > 0 } deviceId] ? (deviceClass, deviceId) : null;
    }

    /// <summary>Why <paramref name="value"/> cannot be one topic level, or null when it can.</summary>
    public static string? LevelProblem(string what, string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return $"{what} is empty";
        }
        if (value.IndexOfAny(['/', '+', '#', '\0']) >= 0)
        {
            return $"{what} '{value}' contains '/', '+', '#' or NUL, which MQTT topic levels cannot hold";
        }
        return value.Length > 128 ? $"{what} is {value.Length} characters; at most 128" : null;
    }

    /// <summary>Why <paramref name="prefix"/> cannot start our topics, or null when it can.</summary>
    public static string? PrefixProblem(string? prefix)
    {
        if (string.IsNullOrWhiteSpace(prefix))
        {
            return "TopicPrefix is empty";
        }
        if (prefix.IndexOfAny(['+', '#', '\0']) >= 0 || prefix.StartsWith('/') || prefix.EndsWith('/') || prefix.StartsWith('$'))
        {
            return $"TopicPrefix '{prefix}' must not contain '+', '#' or NUL, start with '$' or '/', or end with '/'";
        }
        return null;
    }
}
