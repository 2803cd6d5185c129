namespace EdgeRuntime.Telemetry;

/// <summary>
/// Framing of a telemetry segment: a sequence of 32 KiB blocks. Each physical record is a 7-byte header
/// (masked CRC-32C of type and payload, little-endian; payload length, little-endian 16 bits; type) and its payload.
/// A record never straddles a block: a logical record that does not fit is split into FIRST, MIDDLE and LAST
/// fragments, and a block tail too short for a header is zero-filled.
/// </summary>
public static class LogFormat
{
    public const int BlockSize = 32 * 1024;
    public const int HeaderSize = 7;
    /// <summary>Largest logical record accepted (a guard against runaway payloads, not a format limit).</summary>
    public const int MaxRecordBytes = 1024 * 1024;
}

/// <summary>Type byte of a physical record.</summary>
public enum LogRecordType : byte
{
    /// <summary>Zero-filled space; never written as a header.</summary>
    Zero = 0,
    Full = 1,
    First = 2,
    Middle = 3,
    Last = 4,
}
