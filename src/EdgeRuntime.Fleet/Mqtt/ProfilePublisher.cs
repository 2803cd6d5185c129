using EdgeRuntime.Governance;
using EdgeRuntime.Uplink;

namespace EdgeRuntime.Fleet.Mqtt;

/// <summary>One profile sent to the fleet.</summary>
public sealed record PublishedProfile(string File, string DeviceClass, long Version, string Topic, string Sha256);

/// <summary>
/// Sends fitted profiles to the devices: each one, checked first, as the retained message of its device class
/// with the SHA-256 of its bytes, so devices that connect later get it too.
/// </summary>
public static class ProfilePublisher
{
    /// <summary>The profiles in <paramref name="directory"/> (*.json, one per device class), each checked before anything is sent.</summary>
    /// <exception cref="ArgumentException">No profiles, an invalid one, or two for one device class: nothing is sent then.</exception>
    public static IReadOnlyList<(string File, string Text, GovernorProfile Profile)> Load(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new ArgumentException($"profile directory '{directory}' does not exist");
        }
        var profiles = new List<(string, string, GovernorProfile)>();
        foreach (string file in Directory.GetFiles(directory, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            string text = File.ReadAllText(file);
            GovernorProfile profile;
            try
            {
                profile = ProfileJson.Parse(text, file);
            }
            catch (ProfileException e)
            {
                throw new ArgumentException($"not publishing anything: {e.Message}", e);
            }
            if (UplinkTopics.LevelProblem("device_class", profile.DeviceClass) is string problem)
            {
                throw new ArgumentException($"not publishing anything: {file}: {problem}");
            }
            if (profiles.FirstOrDefault(p => p.Item3.DeviceClass == profile.DeviceClass) is { Item1: string other })
            {
                throw new ArgumentException($"not publishing anything: {file} and {other} are both for device class '{profile.DeviceClass}'");
            }
            profiles.Add((file, text, profile));
        }
        if (profiles.Count == 0)
        {
            throw new ArgumentException($"profile directory '{directory}' holds no *.json profiles");
        }
        return profiles;
    }

    /// <exception cref="MqttSessionException">The broker could not be reached or refused a message.</exception>
    public static async Task<IReadOnlyList<PublishedProfile>> PublishAsync(MqttSession session, string topicPrefix,
        IReadOnlyList<(string File, string Text, GovernorProfile Profile)> profiles, CancellationToken cancellationToken)
    {
        var published = new List<PublishedProfile>();
        foreach (var (file, text, profile) in profiles)
        {
            string topic = UplinkTopics.Profile(topicPrefix, profile.DeviceClass);
            var message = ProfileMessage.Create(topic, text);
            if (await session.PublishAsync(message, cancellationToken).ConfigureAwait(false) is string refusal)
            {
                throw new MqttSessionException($"{file}: {refusal}");
            }
            published.Add(new PublishedProfile(file, profile.DeviceClass, profile.Version, topic, ProfileMessage.Hash(System.Text.Encoding.UTF8.GetBytes(text))));
        }
        return published;
    }

    /// <summary>Loads and checks every profile of <paramref name="directory"/>, connects, and sends them (what `edgert fleet publish` does).</summary>
    public static async Task<IReadOnlyList<PublishedProfile>> PublishDirectoryAsync(MqttBrokerOptions broker, string topicPrefix, string directory, CancellationToken cancellationToken)
    {
        var loaded = Load(directory);
        await using var session = await FleetConnection.ConnectAsync(broker, cancellationToken);
        try
        {
            return await PublishAsync(session, topicPrefix, loaded, cancellationToken);
        }
        catch (MqttSessionException e)
        {
            throw new IOException(e.Message, e);
        }
    }

    public static void WriteText(TextWriter output, IReadOnlyList<PublishedProfile> sent)
    {
        foreach (var profile in sent)
        {
            output.WriteLine($"{profile.DeviceClass} version {profile.Version} -> {profile.Topic} (retained, sha256 {profile.Sha256[..16]}...) from {profile.File}");
        }
    }
}
