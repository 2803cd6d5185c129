using System.Buffers.Binary;

namespace EdgeRuntime.Telemetry;

/// <summary>Appends framed records to one segment stream; see <see cref="LogFormat"/>.</summary>
public sealed class LogBlockWriter
{
    private readonly Stream _stream;
    private int _blockOffset;
    private readonly byte[] _header = new byte[LogFormat.HeaderSize];
    private static readonly byte[] Padding = new byte[LogFormat.HeaderSize];

    /// <param name="stream">Positioned at the end of the segment.</param>
    /// <param name="existingLength">Bytes already in the segment, so block boundaries line up.</param>
    public LogBlockWriter(Stream stream, long existingLength = 0)
    {
        _stream = stream;
        _blockOffset = (int)(existingLength % LogFormat.BlockSize);
        Length = existingLength;
    }

    /// <summary>Bytes in the segment, written through this writer or before it.</summary>
    public long Length { get; private set; }

    public void AddRecord(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > LogFormat.MaxRecordBytes)
        {
            throw new ArgumentException($"telemetry record of {payload.Length} bytes exceeds the {LogFormat.MaxRecordBytes}-byte limit");
        }
        bool first = true;
        do
        {
            int leftInBlock = LogFormat.BlockSize - _blockOffset;
            if (leftInBlock < LogFormat.HeaderSize)
            {
                if (leftInBlock > 0)
                {
                    Write(Padding.AsSpan(0, leftInBlock));
                }
                _blockOffset = 0;
                leftInBlock = LogFormat.BlockSize;
            }
            int available = leftInBlock - LogFormat.HeaderSize;
            int fragmentLength = Math.Min(available, payload.Length);
            bool last = fragmentLength == payload.Length;
            var type = (first, last) switch
            {
                (true, true) => LogRecordType.Full,
                (true, false) => LogRecordType.First,
                (false, true) => LogRecordType.Last,
                _ => LogRecordType.Middle,
            };
            EmitPhysicalRecord(type, payload[..fragmentLength]);
            payload = payload[fragmentLength..];
            first = false;
        }
        while (payload.Length > 0);
    }

    public void Flush() => _stream.Flush();

    /// <summary>Flushes to the device: after this returns, everything added survives a power loss.</summary>
    public void Sync()
    {
        if (_stream is FileStream file)
        {
            file.Flush(flushToDisk: true);
        }
        else
        {
            _stream.Flush();
        }
    }

    private void EmitPhysicalRecord(LogRecordType type, ReadOnlySpan<byte> fragment)
    {
        uint crc = Crc32C.Compute([(byte)type]);
        crc = Crc32C.Append(crc, fragment);
        BinaryPrimitives.WriteUInt32LittleEndian(_header, Crc32C.Mask(crc));
        BinaryPrimitives.WriteUInt16LittleEndian(_header.AsSpan(4), (ushort)fragment.Length);
        _header[6] = (byte)type;
        Write(_header);
        Write(fragment);
        _blockOffset += LogFormat.HeaderSize + fragment.Length;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        Length += bytes.Length;
    }
}
