using System.Buffers.Binary;

namespace EdgeRuntime.Telemetry;

/// <summary>
/// Reads the logical records of one segment written by <see cref="LogBlockWriter"/>. It never throws on bad
/// data: a record cut short at the end of the segment (a write interrupted by a crash or power loss) is a torn
/// tail and dropped; a record whose checksum, length or type is wrong makes the rest of its block unusable,
/// because its length can no longer be trusted, so the reader skips to the next block. Every byte that does not
/// end up in a returned record or in block padding is counted in <see cref="BytesLost"/>.
/// </summary>
public sealed class LogBlockReader
{
    private readonly Stream _stream;
    private readonly byte[] _block = new byte[LogFormat.BlockSize];
    private int _blockLength;
    private int _position;
    private bool _endOfStream;
    private bool _blockMarkedCorrupt;
    private bool _skippedSinceLastRecord;

    public LogBlockReader(Stream stream)
    {
        _stream = stream;
    }

    /// <summary>Bytes of returned records, headers included.</summary>
    public long AcceptedBytes { get; private set; }
    /// <summary>Zero bytes that legitimately fill a block tail too short for a header.</summary>
    public long PaddingBytes { get; private set; }
    /// <summary>Bytes skipped because they failed a check in the middle of the segment.</summary>
    public long CorruptBytes { get; private set; }
    /// <summary>Bytes of an incomplete record at the end of the segment.</summary>
    public long TornTailBytes { get; private set; }
    public long BytesLost => CorruptBytes + TornTailBytes;
    /// <summary>Blocks in which at least one check failed.</summary>
    public int CorruptBlocks { get; private set; }
    public long Records { get; private set; }

    private enum Physical
    {
        Record,
        EndOfSegment,
    }

    /// <summary>The next intact logical record, or null at the end of the segment.</summary>
    public byte[]? ReadRecord()
    {
        MemoryStream? assembling = null;
        long assemblingPhysicalBytes = 0;
        while (true)
        {
            if (ReadPhysical(out var type, out int fragmentStart, out int fragmentLength) == Physical.EndOfSegment)
            {
                if (assembling is not null)
                {
                    // The record's remaining fragments were never written.
                    TornTailBytes += assemblingPhysicalBytes;
                }
                return null;
            }
            if (_skippedSinceLastRecord)
            {
                // Whatever followed the partial record's last fragment is gone: never splice across the gap.
                _skippedSinceLastRecord = false;
                DropPartial(ref assembling, ref assemblingPhysicalBytes);
            }
            var fragment = _block.AsSpan(fragmentStart, fragmentLength);
            long physicalBytes = LogFormat.HeaderSize + fragmentLength;
            switch (type)
            {
                case LogRecordType.Full:
                    DropPartial(ref assembling, ref assemblingPhysicalBytes);
                    return Accept(fragment.ToArray(), physicalBytes);
                case LogRecordType.First:
                    DropPartial(ref assembling, ref assemblingPhysicalBytes);
                    assembling = new MemoryStream();
                    assembling.Write(fragment);
                    assemblingPhysicalBytes = physicalBytes;
                    break;
                case LogRecordType.Middle or LogRecordType.Last when assembling is null:
                    // The start of this record was lost with an earlier corrupt block; this block itself is sound.
                    CorruptBytes += physicalBytes;
                    break;
                case LogRecordType.Middle:
                    assembling!.Write(fragment);
                    assemblingPhysicalBytes += physicalBytes;
                    if (assembling.Length > LogFormat.MaxRecordBytes)
                    {
                        DropPartial(ref assembling, ref assemblingPhysicalBytes);
                    }
                    break;
                case LogRecordType.Last:
                    assembling!.Write(fragment);
                    return Accept(assembling.ToArray(), assemblingPhysicalBytes + physicalBytes);
            }
        }
    }

    private byte[] Accept(byte[] record, long physicalBytes)
    {
        AcceptedBytes += physicalBytes;
        Records++;
        return record;
    }

    private void DropPartial(ref MemoryStream? assembling, ref long physicalBytes)
    {
        if (assembling is not null)
        {
            CorruptBytes += physicalBytes;
            assembling = null;
            physicalBytes = 0;
        }
    }

    private void LoseCorrupt(long bytes)
    {
        CorruptBytes += bytes;
        _skippedSinceLastRecord = true;
        if (!_blockMarkedCorrupt)
        {
            _blockMarkedCorrupt = true;
            CorruptBlocks++;
        }
    }

    private Physical ReadPhysical(out LogRecordType type, out int fragmentStart, out int fragmentLength)
    {
        type = LogRecordType.Zero;
        fragmentStart = fragmentLength = 0;
        while (true)
        {
            int left = _blockLength - _position;
            if (left < LogFormat.HeaderSize)
            {
                if (left > 0)
                {
                    AccountShortTail(left);
                }
                if (!LoadBlock())
                {
                    return Physical.EndOfSegment;
                }
                continue;
            }
            var header = _block.AsSpan(_position, LogFormat.HeaderSize);
            uint storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header);
            int length = BinaryPrimitives.ReadUInt16LittleEndian(header[4..]);
            byte typeByte = header[6];
            bool partialBlock = _blockLength < LogFormat.BlockSize;
            if (LogFormat.HeaderSize + length > left)
            {
                if (partialBlock && _endOfStream && typeByte is >= 1 and <= 4)
                {
                    // Cut off by the end of the segment: a write that never finished.
                    TornTailBytes += left;
                }
                else
                {
                    LoseCorrupt(left);
                }
                _position = _blockLength;
                continue;
            }
            if (typeByte == (byte)LogRecordType.Zero || typeByte > (byte)LogRecordType.Last
                || Crc32C.Unmask(storedCrc) != Crc32C.Append(Crc32C.Compute([typeByte]), _block.AsSpan(_position + LogFormat.HeaderSize, length)))
            {
                SkipRestOfBlock(left);
                continue;
            }
            type = (LogRecordType)typeByte;
            fragmentStart = _position + LogFormat.HeaderSize;
            fragmentLength = length;
            _position += LogFormat.HeaderSize + length;
            return Physical.Record;
        }
    }

    private void SkipRestOfBlock(int left)
    {
        // Zeros to the end of the final block are what a file system leaves after a crash that extended the file
        // but lost its data: a torn tail, not corruption in the middle of the log.
        if (_endOfStream && _blockLength < LogFormat.BlockSize && _block.AsSpan(_position, left).IndexOfAnyExcept((byte)0) < 0)
        {
            TornTailBytes += left;
        }
        else
        {
            LoseCorrupt(left);
        }
        _position = _blockLength;
    }

    private void AccountShortTail(int left)
    {
        bool zeros = _block.AsSpan(_position, left).IndexOfAnyExcept((byte)0) < 0;
        if (_blockLength == LogFormat.BlockSize && zeros)
        {
            PaddingBytes += left;
        }
        else if (_blockLength < LogFormat.BlockSize && _endOfStream)
        {
            TornTailBytes += left;
        }
        else
        {
            LoseCorrupt(left);
        }
        _position = _blockLength;
    }

    private bool LoadBlock()
    {
        if (_endOfStream)
        {
            return false;
        }
        _blockLength = _stream.ReadAtLeast(_block, LogFormat.BlockSize, throwOnEndOfStream: false);
        _position = 0;
        _blockMarkedCorrupt = false;
        if (_blockLength < LogFormat.BlockSize)
        {
            _endOfStream = true;
        }
        return _blockLength > 0;
    }
}
