using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeRuntime.Bundles;

namespace EdgeRuntime.Deployment;

/// <summary>
/// What the store knows about one bundle name, in one small file replaced atomically. It is also the active
/// pointer: one file means the pointer and the phase can never disagree after a crash.
/// </summary>
internal sealed record StoreState
{
    public const string FileName = "state.json";
    public const int CurrentFormat = 1;

    public int FormatVersion { get; init; } = CurrentFormat;
    public required string Name { get; init; }
    public long? Active { get; init; }
    public long? Previous { get; init; }
    [JsonConverter(typeof(PhaseName))]
    public DeploymentPhase Phase { get; init; }
    /// <summary>The highest version ever activated: anything lower is a downgrade.</summary>
    public long HighestActivated { get; init; }
    public string? LastFailure { get; init; }
    public DateTimeOffset? ChangedUtc { get; init; }
    /// <summary>Versions that were active, oldest first (bounded): where a rollback goes after the previous one.</summary>
    public IReadOnlyList<long> History { get; init; } = [];

    public DeploymentState ToPublic() => new(Name, Active?.ToString(), Previous?.ToString(), Phase, LastFailure);

    public static StoreState? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            var state = JsonSerializer.Deserialize<StoreState>(File.ReadAllBytes(path), ManifestJson.Options);
            return state is { FormatVersion: CurrentFormat } ? state : throw new InvalidDataException($"'{path}' is not a format {CurrentFormat} store state");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"store state '{path}' is not valid JSON: {e.Message}", e);
        }
    }

    public void Save(string path) => AtomicFile.WriteAllBytes(path, JsonSerializer.SerializeToUtf8Bytes(this, ManifestJson.Options));

    /// <summary>Phases by snake_case name ("rolled_back"), like every other key and value in the store's files.</summary>
    private sealed class PhaseName() : JsonStringEnumConverter<DeploymentPhase>(JsonNamingPolicy.SnakeCaseLower);
}
