using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using MessagePack;

namespace EdgeRuntime.Protocol;

/// <summary>
/// Frames on the wire: a 4-byte big-endian payload length, then one MessagePack array
/// [version, message type, request id, body]. See PROTOCOL.md.
/// </summary>
public static class FrameCodec
{
    public const int PrefixBytes = 4;

    /// <summary>Checks the payload's structure against the limits, then reads its envelope.</summary>
    /// <exception cref="ProtocolException">Malformed, too deep, or of another protocol version.</exception>
    public static Envelope DecodeEnvelope(ReadOnlyMemory<byte> payload, FrameLimits limits)
    {
        if (payload.Length > limits.MaxFrameBytes)
        {
            throw new ProtocolException(ErrorCode.FrameTooLarge, $"a frame of {payload.Length} bytes exceeds the cap of {limits.MaxFrameBytes}");
        }
        MessagePackStructure.Validate(payload.Span, limits.MaxDepth);
        var reader = new MessagePackReader(payload);
        int version;
        int type;
        uint id;
        try
        {
            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                throw new ProtocolException(ErrorCode.MalformedFrame, "a frame must hold an array [version, type, request_id, body]");
            }
            int count = reader.ReadArrayHeader();
            if (count != 4)
            {
                throw new ProtocolException(ErrorCode.MalformedFrame, $"the envelope has {count} elements; it must have 4: [version, type, request_id, body]");
            }
            version = reader.ReadInt32();
            type = reader.ReadInt32();
            id = reader.ReadUInt32();
        }
        catch (MessagePackSerializationException e)
        {
            throw new ProtocolException(ErrorCode.MalformedFrame, $"the envelope header is not [int, int, uint32, body]: {e.Message}", e);
        }
        catch (OverflowException e)
        {
            throw new ProtocolException(ErrorCode.MalformedFrame, $"an envelope header field is out of range: {e.Message}", e);
        }
        if (version != ProtocolSerializer.Version)
        {
            throw new ProtocolException(ErrorCode.UnsupportedVersion, $"protocol version {version} is not supported; this end speaks version {ProtocolSerializer.Version}") { RequestId = id };
        }
        return new Envelope(version, (MessageType)type, id, payload[(int)reader.Consumed..]);
    }

    /// <summary>Reads the request id from the start of a payload that could not be read whole; 0 when it cannot.</summary>
    public static uint SniffRequestId(ReadOnlySpan<byte> payloadStart)
    {
        try
        {
            var reader = new MessagePackReader(payloadStart.ToArray());
            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                return 0;
            }
            reader.ReadArrayHeader();
            reader.ReadInt32();
            reader.ReadInt32();
            return reader.ReadUInt32();
        }
        catch (Exception e) when (e is MessagePackSerializationException or OverflowException or EndOfStreamException)
        {
            return 0;
        }
    }

    /// <summary>Decodes an envelope's body into its contract; an empty (nil) body gives a default instance.</summary>
    /// <exception cref="ProtocolException">The body does not fit the contract (code InvalidRequest).</exception>
    public static T DecodeBody<T>(in Envelope envelope) where T : class, new()
    {
        try
        {
            return MessagePackSerializer.Deserialize<T>(envelope.Body, ProtocolSerializer.Options) ?? new T();
        }
        catch (MessagePackSerializationException e)
        {
            string problem = Innermost(e) is OverflowException ? OutOfRange<T>(envelope.Body) : Innermost(e).Message;
            throw new ProtocolException(ErrorCode.InvalidRequest, $"{envelope.Type} body: {problem}", e) { RequestId = envelope.RequestId };
        }
    }

    /// <summary>Names the field whose integer does not fit its type (the serializer only says "overflow").</summary>
    private static string OutOfRange<T>(ReadOnlyMemory<byte> body)
    {
        const string Unnamed = "a number is out of range for its field";
        try
        {
            var fields = typeof(T).GetProperties()
                .Select(p => (Key: p.GetCustomAttributes(typeof(KeyAttribute), false).OfType<KeyAttribute>().FirstOrDefault()?.StringKey, Type: Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType))
                .Where(f => f.Key is not null)
                .ToDictionary(f => f.Key!, f => f.Type, StringComparer.Ordinal);
            var reader = new MessagePackReader(body);
            if (reader.NextMessagePackType != MessagePackType.Map)
            {
                return Unnamed;
            }
            int count = reader.ReadMapHeader();
            for (int i = 0; i < count; i++)
            {
                string? key = reader.ReadString();
                if (key is not null && reader.NextMessagePackType == MessagePackType.Integer && fields.TryGetValue(key, out var type))
                {
                    string value = reader.NextCode == MessagePackCode.UInt64 ? reader.ReadUInt64().ToString(CultureInfo.InvariantCulture) : reader.ReadInt64().ToString(CultureInfo.InvariantCulture);
                    var (min, max) = Type.GetTypeCode(type) switch
                    {
                        TypeCode.Byte => ("0", byte.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.UInt16 => ("0", ushort.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.UInt32 => ("0", uint.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.UInt64 => ("0", ulong.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.Int16 => (short.MinValue.ToString(CultureInfo.InvariantCulture), short.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.Int32 => (int.MinValue.ToString(CultureInfo.InvariantCulture), int.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        TypeCode.Int64 => (long.MinValue.ToString(CultureInfo.InvariantCulture), long.MaxValue.ToString(CultureInfo.InvariantCulture)),
                        _ => ("", ""),
                    };
                    if (min.Length > 0 && (value.StartsWith('-') ? min == "0" || value.Length > min.Length || (value.Length == min.Length && string.CompareOrdinal(value, min) > 0)
                                                                 : value.Length > max.Length || (value.Length == max.Length && string.CompareOrdinal(value, max) > 0)))
                    {
                        return $"'{key}' is {value}, outside {min} to {max}";
                    }
                    continue;
                }
                reader.Skip();
            }
        }
        catch (Exception e) when (e is MessagePackSerializationException or OverflowException or EndOfStreamException or InvalidOperationException)
        {
            // The field could not be found; the general message stands.
        }
        return Unnamed;
    }

    /// <summary>Appends one whole frame (prefix included) to <paramref name="output"/>.</summary>
    /// <returns>The payload length.</returns>
    public static int WriteFrame<T>(ArrayBufferWriter<byte> output, MessageType type, uint requestId, T body)
    {
        int start = output.WrittenCount;
        output.GetSpan(PrefixBytes)[..PrefixBytes].Clear();
        output.Advance(PrefixBytes);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(4);
        writer.Write(ProtocolSerializer.Version);
        writer.Write((int)type);
        writer.Write(requestId);
        MessagePackSerializer.Serialize(ref writer, body, ProtocolSerializer.Options);
        writer.Flush();
        int length = output.WrittenCount - start - PrefixBytes;
        var written = MemoryMarshal.AsMemory(output.WrittenMemory);
        BinaryPrimitives.WriteUInt32BigEndian(written.Span.Slice(start, PrefixBytes), (uint)length);
        return length;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }
}
