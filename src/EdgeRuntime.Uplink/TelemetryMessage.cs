using System.Globalization;
using EdgeRuntime.Telemetry;
using MessagePack;
using MQTTnet;
using MQTTnet.Protocol;

namespace EdgeRuntime.Uplink;

/// <summary>
/// Wire format of a telemetry message: a MessagePack array of <see cref="TelemetryRecord"/>s of one device, in
/// sequence order, each carrying its (device id, sequence) identity so ingest can drop redeliveries. The user
/// property "record-id" names the range ("pi-7:1201-1300") for logs and tracing.
/// </summary>
public static class TelemetryMessage
{
    public const string ContentType = "application/vnd.edgert.telemetry+msgpack";
    public const string RecordIdProperty = "record-id";

    private static readonly MessagePackSerializerOptions ReadOptions =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public static MqttApplicationMessage Create(string topic, IReadOnlyList<TelemetryRecord> records)
    {
        if (records.Count == 0)
        {
            throw new ArgumentException("a telemetry message needs at least one record");
        }
        byte[] payload = MessagePackSerializer.Serialize(records, MessagePackSerializerOptions.Standard);
        return new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(ContentType)
            .WithUserProperty(RecordIdProperty, System.Text.Encoding.UTF8.GetBytes(RecordId(records[0].DeviceId, records[0].Sequence, records[^1].Sequence)).AsMemory())
            .Build();
    }

    /// <summary>
    /// A message from records as the log stores them (each already a MessagePack-encoded <see cref="TelemetryRecord"/>):
    /// the batch is their array, so nothing is decoded and encoded again on the way.
    /// </summary>
    public static MqttApplicationMessage CreateFromEncoded(string topic, IReadOnlyList<byte[]> encodedRecords, string deviceId, long firstSequence, long lastSequence)
    {
        if (encodedRecords.Count == 0)
        {
            throw new ArgumentException("a telemetry message needs at least one record");
        }
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(encodedRecords.Sum(r => r.Length) + 8);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(encodedRecords.Count);
        foreach (byte[] record in encodedRecords)
        {
            writer.WriteRaw(record);
        }
        writer.Flush();
        return new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(buffer.WrittenMemory.ToArray())
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithContentType(ContentType)
            .WithUserProperty(RecordIdProperty, System.Text.Encoding.UTF8.GetBytes(RecordId(deviceId, firstSequence, lastSequence)).AsMemory())
            .Build();
    }

    /// <summary>The sequence number of an encoded record (its first field), without decoding the rest; false when it is not a record.</summary>
    public static bool TryReadSequence(byte[] encodedRecord, out long sequence)
    {
        sequence = 0;
        try
        {
            var reader = new MessagePackReader(encodedRecord);
            if (reader.ReadArrayHeader() < 9)
            {
                return false;
            }
            sequence = reader.ReadInt64();
            return sequence > 0;
        }
        catch (MessagePackSerializationException)
        {
            return false;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    public static string RecordId(string deviceId, long first, long last) =>
        string.Create(CultureInfo.InvariantCulture, $"{deviceId}:{first}-{last}");

    /// <summary>The records of a message from <paramref name="deviceId"/>.</summary>
    /// <exception cref="InvalidDataException">Not a telemetry batch, a malformed record, or a record of another device.</exception>
    public static IReadOnlyList<TelemetryRecord> Decode(ReadOnlyMemory<byte> payload, string deviceId)
    {
        TelemetryRecord[] records;
        try
        {
            records = MessagePackSerializer.Deserialize<TelemetryRecord[]>(payload, ReadOptions);
        }
        catch (MessagePackSerializationException e)
        {
            throw new InvalidDataException($"not a telemetry batch: {e.Message}", e);
        }
        if (records is null || records.Length == 0)
        {
            throw new InvalidDataException("the telemetry batch is empty");
        }
        for (int i = 0; i < records.Length; i++)
        {
            var record = records[i];
            if (record is null || !record.IsWellFormed)
            {
                throw new InvalidDataException($"record {i} of the batch is malformed");
            }
            if (record.DeviceId != deviceId)
            {
                throw new InvalidDataException($"record {i} is from device '{record.DeviceId}' but was published on the topic of '{deviceId}'");
            }
            if (record.Sequence <= 0)
            {
                throw new InvalidDataException($"record {i} has sequence {record.Sequence}; sequences start at 1");
            }
        }
        return records;
    }
}
