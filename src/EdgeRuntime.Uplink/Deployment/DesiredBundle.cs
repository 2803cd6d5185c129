using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Deployment;

namespace EdgeRuntime.Uplink.Deployment;

/// <summary>
/// The bundle version a device (or every device of a class) should run, as the fleet publishes it (retained).
/// <see cref="Sha256"/> and the chunk fields are null when the version needs no download: a fleet rollback to the
/// version each device kept as its previous one.
/// </summary>
public sealed record DesiredBundle
{
    public const int FormatVersion = 1;
    public const int MinChunkSize = 1024;
    public const int MaxChunkSize = 16 << 20;
    public const int DefaultChunkSize = 64 << 10;

    [JsonPropertyName("format_version")] public int Format { get; init; } = FormatVersion;
    [JsonPropertyName("bundle")] public required string Bundle { get; init; }
    [JsonPropertyName("version")] public required string Version { get; init; }
    [JsonPropertyName("sha256")] public string? Sha256 { get; init; }
    [JsonPropertyName("size_bytes")] public long? SizeBytes { get; init; }
    [JsonPropertyName("chunk_size")] public int? ChunkSize { get; init; }
    [JsonPropertyName("chunk_count")] public int? ChunkCount { get; init; }
    [JsonPropertyName("rollout_id")] public string? RolloutId { get; init; }
    /// <summary>Set on the desired state a halted or aborted rollout sends back: go back to the kept version.</summary>
    [JsonPropertyName("rollback")] public bool Rollback { get; init; }

    /// <summary>Whether the archive can be fetched (otherwise the version must already be on the device).</summary>
    [JsonIgnore] public bool HasArchive => Sha256 is not null;

    /// <summary>Chunk <paramref name="index"/>'s length: full chunks, then the remainder.</summary>
    public int ChunkLength(int index) => (int)Math.Min(ChunkSize!.Value, SizeBytes!.Value - (long)index * ChunkSize.Value);

    /// <summary>Every problem, so a bad desired state is refused naming all of them.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (Format != FormatVersion)
        {
            problems.Add($"format_version {Format} is not {FormatVersion}");
        }
        if (UplinkTopics.LevelProblem("bundle", Bundle) is string bundle)
        {
            problems.Add(bundle);
        }
        if (UplinkTopics.LevelProblem("version", Version) is string version)
        {
            problems.Add(version);
        }
        if (Sha256 is null)
        {
            if (SizeBytes is not null || ChunkSize is not null || ChunkCount is not null)
            {
                problems.Add("size_bytes, chunk_size and chunk_count need sha256");
            }
            return problems;
        }
        if (Sha256.Length != 64 || !Sha256.All(char.IsAsciiHexDigitLower))
        {
            problems.Add($"sha256 '{Sha256}' is not 64 lowercase hex digits");
        }
        if (SizeBytes is not > 0)
        {
            problems.Add($"size_bytes {SizeBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(missing)"} must be positive");
        }
        if (ChunkSize is not (>= MinChunkSize and <= MaxChunkSize))
        {
            problems.Add($"chunk_size {ChunkSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(missing)"} is not in {MinChunkSize}-{MaxChunkSize}");
        }
        if (SizeBytes is > 0 && ChunkSize is (>= MinChunkSize and <= MaxChunkSize) && ChunkCount != (int)((SizeBytes.Value + ChunkSize.Value - 1) / ChunkSize.Value))
        {
            problems.Add($"chunk_count {ChunkCount} does not match size_bytes {SizeBytes} in chunks of {ChunkSize}");
        }
        return problems;
    }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, DeploymentJson.Options);

    /// <exception cref="FormatException">Not JSON, or a desired state with problems (all named).</exception>
    public static DesiredBundle Parse(ReadOnlySpan<byte> json, string source)
    {
        DesiredBundle? desired;
        try
        {
            desired = JsonSerializer.Deserialize<DesiredBundle>(json, DeploymentJson.Options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not a desired bundle: {e.Message}", e);
        }
        if (desired is null)
        {
            throw new FormatException($"{source}: not a desired bundle: null");
        }
        if (desired.Problems() is { Count: > 0 } problems)
        {
            throw new FormatException($"{source}: invalid desired bundle: {string.Join("; ", problems)}");
        }
        return desired;
    }

    public override string ToString() => $"{Bundle} {Version}" + (Sha256 is null ? "" : $" (sha256 {Sha256[..12]}..., {SizeBytes} bytes)");
}

internal static class DeploymentJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };
}

/// <summary>The device's deployment states as the fleet sees them on the status topic.</summary>
public enum DeviceDeploymentState
{
    Downloading,
    Installed,
    Probation,
    Committed,
    /// <summary>Back on the previous version: probation failed, or the fleet rolled the rollout back.</summary>
    RolledBack,
    Refused,
}

/// <summary>
/// Reason codes on the status topic: the store's <see cref="DeploymentRefusal"/> codes, plus what only delivery
/// and probation can say. Stable strings a fleet can count.
/// </summary>
public static class DeploymentReasons
{
    public const string ProbationFailed = "probation-failed";
    public const string FleetRollback = "fleet-rollback";
    public const string ChunkCorrupt = "chunk-corrupt";
    public const string WrongBundle = "wrong-bundle";
    public const string NotAvailable = "not-available";
    public const string InvalidDesiredState = "invalid-desired-state";

    /// <summary>"bad-signature" for <see cref="DeploymentRefusal.BadSignature"/>.</summary>
    public static string Code(DeploymentRefusal refusal) => JsonNamingPolicy.KebabCaseLower.ConvertName(refusal.ToString());
}

/// <summary>One report of a device's deployment, published retained on <c>{prefix}/deploy/status/{deviceId}</c>.</summary>
public sealed record DeploymentReport
{
    [JsonPropertyName("device_id")] public required string DeviceId { get; init; }
    [JsonPropertyName("device_class")] public required string DeviceClass { get; init; }
    [JsonPropertyName("bundle")] public required string Bundle { get; init; }
    [JsonPropertyName("state")] public required DeviceDeploymentState State { get; init; }
    /// <summary>The version this report is about (the desired one).</summary>
    [JsonPropertyName("version")] public string? Version { get; init; }
    [JsonPropertyName("active_version")] public string? ActiveVersion { get; init; }
    [JsonPropertyName("previous_version")] public string? PreviousVersion { get; init; }
    [JsonPropertyName("rollout_id")] public string? RolloutId { get; init; }
    [JsonPropertyName("reason_code")] public string? ReasonCode { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("chunks_received")] public int? ChunksReceived { get; init; }
    [JsonPropertyName("chunk_count")] public int? ChunkCount { get; init; }
    [JsonPropertyName("download_ms")] public double? DownloadMs { get; init; }
    [JsonPropertyName("install_ms")] public double? InstallMs { get; init; }
    [JsonPropertyName("activate_ms")] public double? ActivateMs { get; init; }
    [JsonPropertyName("probation_ms")] public double? ProbationMs { get; init; }
    [JsonPropertyName("figures")] public IReadOnlyDictionary<string, double>? Figures { get; init; }
    [JsonPropertyName("at_unix_ms")] public long AtUnixMs { get; init; }

    /// <summary>A final outcome for <see cref="Version"/>: it passed, or the device will not run it.</summary>
    [JsonIgnore] public bool IsFinal => State is DeviceDeploymentState.Committed or DeviceDeploymentState.RolledBack or DeviceDeploymentState.Refused;

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, DeploymentJson.Options);

    /// <returns>Null when the payload is not a report (logged by the caller).</returns>
    public static DeploymentReport? TryParse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize<DeploymentReport>(json, DeploymentJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
