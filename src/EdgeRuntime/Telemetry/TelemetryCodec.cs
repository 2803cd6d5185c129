using MessagePack;

namespace EdgeRuntime.Telemetry;

/// <summary>MessagePack encoding of records; decoding treats the bytes as untrusted (they come from disks and devices).</summary>
public static class TelemetryCodec
{
    private static readonly MessagePackSerializerOptions WriteOptions = MessagePackSerializerOptions.Standard;
    private static readonly MessagePackSerializerOptions ReadOptions =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public static byte[] Encode(TelemetryRecord record) => MessagePackSerializer.Serialize(record, WriteOptions);

    /// <summary>The record, or null when the bytes are not a well-formed record.</summary>
    public static TelemetryRecord? TryDecode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var record = MessagePackSerializer.Deserialize<TelemetryRecord>(bytes, ReadOptions);
            return record is { IsWellFormed: true } ? record : null;
        }
        catch (MessagePackSerializationException)
        {
            return null;
        }
    }
}
