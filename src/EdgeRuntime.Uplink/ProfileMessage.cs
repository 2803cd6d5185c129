using System.Security.Cryptography;
using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeRuntime.Uplink;

/// <summary>
/// Wire format of a published profile: the profile's JSON text as the payload (UTF-8), retained, with the
/// lowercase hex SHA-256 of the payload bytes in the user property "sha256" so a device can tell a damaged or
/// tampered payload from the one the fleet fitted.
/// </summary>
public static class ProfileMessage
{
    public const string HashProperty = "sha256";
    public const string ContentType = "application/json";

    public static string Hash(ReadOnlySpan<byte> payload) => Convert.ToHexStringLower(SHA256.HashData(payload));

    public static MqttApplicationMessage Create(string topic, string profileJson)
    {
        byte[] payload = Encoding.UTF8.GetBytes(profileJson);
        return Create(topic, payload, Hash(payload));
    }

    /// <summary>A message with the hash given (tests send a wrong one on purpose).</summary>
    public static MqttApplicationMessage Create(string topic, byte[] payload, string hash) =>
        new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(true)
            .WithContentType(ContentType)
            .WithUserProperty(HashProperty, System.Text.Encoding.UTF8.GetBytes(hash).AsMemory())
            .Build();
}
