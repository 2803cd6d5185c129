using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeRuntime.Uplink.Deployment;

/// <summary>
/// Wire format of model delivery, shared by the fleet (which publishes) and the device agent (which reads):
/// desired states and statuses as retained JSON, archive chunks as retained raw bytes carrying the chunk's SHA-256
/// in the user property "sha256" (as profiles do).
/// </summary>
public static class DeploymentMessages
{
    public const string JsonContentType = "application/json";
    public const string ChunkContentType = "application/octet-stream";

    public static MqttApplicationMessage Desired(string topic, DesiredBundle? desired) =>
        Retained(topic, desired?.ToJson() ?? [], JsonContentType);

    public static MqttApplicationMessage Status(string topic, DeploymentReport report) => Retained(topic, report.ToJson(), JsonContentType);

    public static MqttApplicationMessage Chunk(string topic, ReadOnlyMemory<byte> bytes) =>
        Chunk(topic, bytes, ProfileMessage.Hash(bytes.Span));

    /// <summary>A chunk with the hash given (tests send a wrong one on purpose).</summary>
    public static MqttApplicationMessage Chunk(string topic, ReadOnlyMemory<byte> bytes, string sha256) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(bytes.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType(ChunkContentType)
            .WithUserProperty(ProfileMessage.HashProperty, System.Text.Encoding.UTF8.GetBytes(sha256).AsMemory())
            .Build();

    /// <summary>An empty retained message: the broker forgets the topic's retained one.</summary>
    public static MqttApplicationMessage Clear(string topic) => Retained(topic, [], JsonContentType);

    private static MqttApplicationMessage Retained(string topic, byte[] payload, string contentType) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType(contentType)
            .Build();
}
