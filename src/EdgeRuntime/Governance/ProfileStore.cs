using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeRuntime.Governance;

/// <summary>The outcome of offering a new profile.</summary>
public sealed record ProfileUpdate(bool Accepted, string Reason, GovernorProfile Current);

/// <summary>
/// Holds the profile in force and swaps it atomically for a newer valid one. A bad or older profile is
/// refused with the reason, and the one in force stays.
/// </summary>
public sealed class ProfileStore(GovernorProfile initial, ILogger? logger = null)
{
    private readonly ILogger _logger = logger ?? NullLogger.Instance;
    private readonly Lock _gate = new();
    private volatile GovernorProfile _current = initial;
    private DateTime _lastWrite;
    private long _lastLength = -1;

    public GovernorProfile Current => _current;

    public event Action<GovernorProfile>? Changed;

    /// <summary>Parses and applies profile text (from a file, MQTT, or a client).</summary>
    public ProfileUpdate Offer(string json, string source)
    {
        GovernorProfile candidate;
        try
        {
            candidate = ProfileJson.Parse(json, source);
        }
        catch (ProfileException e)
        {
            _logger.LogWarning("Refused profile from {Source}: {Reason}", source, e.Message);
            return new ProfileUpdate(false, e.Message, _current);
        }
        return Offer(candidate, source);
    }

    public ProfileUpdate Offer(GovernorProfile candidate, string source)
    {
        lock (_gate)
        {
            var current = _current;
            string? refusal =
                ProfileJson.Validate(candidate) is { Count: > 0 } problems ? string.Join("; ", problems)
                : candidate.DeviceClass != current.DeviceClass ? $"it is for device class '{candidate.DeviceClass}', this device is '{current.DeviceClass}'"
                : candidate.Version < current.Version ? $"its version {candidate.Version} is older than the current {current.Version}"
                : candidate.Version == current.Version ? $"version {candidate.Version} is already in force"
                : null;
            if (refusal is not null)
            {
                _logger.LogWarning("Refused profile from {Source}: {Reason}", source, refusal);
                return new ProfileUpdate(false, $"{source}: {refusal}", current);
            }
            _current = candidate;
        }
        _logger.LogInformation("Profile {Version} for {DeviceClass} in force (from {Source})", candidate.Version, candidate.DeviceClass, source);
        Changed?.Invoke(candidate);
        return new ProfileUpdate(true, $"version {candidate.Version} in force", candidate);
    }

    /// <summary>Re-reads <paramref name="path"/> when it changed since the last check; call it on a timer.</summary>
    public ProfileUpdate? ReloadIfChanged(string path)
    {
        FileInfo info = new(path);
        if (!info.Exists || (info.LastWriteTimeUtc == _lastWrite && info.Length == _lastLength))
        {
            return null;
        }
        _lastWrite = info.LastWriteTimeUtc;
        _lastLength = info.Length;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (IOException e)
        {
            return new ProfileUpdate(false, $"{path}: cannot be read: {e.Message}", _current);
        }
        return Offer(text, path);
    }
}
