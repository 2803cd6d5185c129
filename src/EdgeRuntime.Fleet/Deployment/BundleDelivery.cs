using System.Security.Cryptography;
using EdgeRuntime.Uplink;
using EdgeRuntime.Uplink.Deployment;
using MQTTnet;

namespace EdgeRuntime.Fleet.Deployment;

/// <summary>
/// The fleet's half of model delivery: an archive cut into retained chunk messages (each with its SHA-256), and
/// desired states per device or per class pointing at it.
/// </summary>
public static class BundleDelivery
{
    /// <summary>The desired state for <paramref name="archivePath"/>: its hash, size and chunking.</summary>
    public static DesiredBundle Describe(string bundle, string version, string archivePath, int chunkSize, string? rolloutId)
    {
        long size = new FileInfo(archivePath).Length;
        string sha256;
        using (var stream = File.OpenRead(archivePath))
        {
            sha256 = Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        var desired = new DesiredBundle
        {
            Bundle = bundle,
            Version = version,
            Sha256 = sha256,
            SizeBytes = size,
            ChunkSize = chunkSize,
            ChunkCount = (int)((size + chunkSize - 1) / chunkSize),
            RolloutId = rolloutId,
        };
        if (desired.Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"cannot deliver '{archivePath}': {string.Join("; ", problems)}");
        }
        return desired;
    }

    /// <summary>Publishes every chunk of the archive, retained, so devices fetch it whenever they come.</summary>
    /// <exception cref="MqttSessionException">The broker could not be reached or refused a chunk.</exception>
    public static async Task PublishChunksAsync(MqttSession session, string topicPrefix, DesiredBundle desired, string archivePath, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[desired.ChunkSize!.Value];
        await using var stream = File.OpenRead(archivePath);
        for (int index = 0; index < desired.ChunkCount; index++)
        {
            int length = desired.ChunkLength(index);
            await stream.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            var message = DeploymentMessages.Chunk(UplinkTopics.BundleChunk(topicPrefix, desired.Bundle, desired.Sha256!, index), buffer.AsMemory(0, length));
            await PublishAsync(session, message, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Forgets an archive's retained chunks (a halted rollout's bundle nobody should fetch any more).</summary>
    public static async Task ClearChunksAsync(MqttSession session, string topicPrefix, DesiredBundle desired, CancellationToken cancellationToken)
    {
        for (int index = 0; index < desired.ChunkCount; index++)
        {
            await PublishAsync(session, DeploymentMessages.Clear(UplinkTopics.BundleChunk(topicPrefix, desired.Bundle, desired.Sha256!, index)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sets (or, with null, clears) one device's desired state.</summary>
    public static Task PublishDesiredAsync(MqttSession session, string topicPrefix, string deviceClass, string deviceId, DesiredBundle? desired, CancellationToken cancellationToken) =>
        PublishAsync(session, DeploymentMessages.Desired(UplinkTopics.DesiredForDevice(topicPrefix, deviceClass, deviceId), desired), cancellationToken);

    /// <summary>Sets the desired state of every device of a class that has none of its own.</summary>
    public static Task PublishClassDesiredAsync(MqttSession session, string topicPrefix, string deviceClass, DesiredBundle? desired, CancellationToken cancellationToken) =>
        PublishAsync(session, DeploymentMessages.Desired(UplinkTopics.DesiredForClass(topicPrefix, deviceClass), desired), cancellationToken);

    private static async Task PublishAsync(MqttSession session, MqttApplicationMessage message, CancellationToken cancellationToken)
    {
        if (await session.PublishAsync(message, cancellationToken).ConfigureAwait(false) is string refusal)
        {
            throw new MqttSessionException($"{message.Topic}: {refusal}");
        }
    }
}
