using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace EdgeRuntime.Data;

/// <summary>
/// Reads IDX files, the format of the MNIST family of datasets: two zero bytes, an element type code,
/// the number of dimensions, the dimensions as big-endian 32-bit integers, then big-endian elements.
/// Gzip-compressed files are recognised by their content (1F 8B), whatever their name.
/// </summary>
public static class IdxFile
{
    private const string SupportedTypes = "0x08 ubyte, 0x09 sbyte, 0x0B short, 0x0C int, 0x0D float, 0x0E double";

    /// <summary>Loads an IDX file, plain or gzip-compressed, as a row-major little-endian array.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt or not an IDX file.</exception>
    public static NpyArray Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Read(stream, path);
    }

    /// <summary>Reads an IDX array from the stream's current position (the stream stays open).</summary>
    public static NpyArray Read(Stream stream, string sourceName = "<stream>")
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (!stream.CanSeek)
        {
            // Sniffing the gzip magic needs to look ahead; buffer the stream so we can rewind.
            var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            stream = buffered;
        }

        long start = stream.Position;
        Span<byte> sniff = stackalloc byte[2];
        int sniffed = stream.ReadAtLeast(sniff, 2, throwOnEndOfStream: false);
        stream.Position = start;
        bool compressed = sniffed == 2 && sniff[0] == 0x1F && sniff[1] == 0x8B;
        if (!compressed)
        {
            return ReadUncompressed(stream, sourceName, compressed: false);
        }
        using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
        return ReadUncompressed(gzip, sourceName, compressed: true);
    }

    private static NpyArray ReadUncompressed(Stream input, string sourceName, bool compressed)
    {
        string what = compressed ? "decompressed data" : "file";
        Span<byte> magic = stackalloc byte[4];
        int got = Fill(input, magic, sourceName, compressed);
        if (got >= 2 && (magic[0] != 0 || magic[1] != 0))
        {
            throw DataFormatErrors.Create(sourceName,
                $"not an IDX file: bad magic bytes {Hex(magic[..got])} (expected 00 00 <type> <rank>)");
        }
        if (got < 4)
        {
            throw DataFormatErrors.Create(sourceName, $"truncated: the {what} is only {got} bytes long, too short for the IDX magic");
        }

        DataElementType? elementType = magic[2] switch
        {
            0x08 => DataElementType.UInt8,
            0x09 => DataElementType.Int8,
            0x0B => DataElementType.Int16,
            0x0C => DataElementType.Int32,
            0x0D => DataElementType.Float32,
            0x0E => DataElementType.Float64,
            _ => null,
        };
        if (elementType is not DataElementType type)
        {
            throw DataFormatErrors.Create(sourceName,
                $"unsupported IDX element type 0x{magic[2]:X2} (supported: {SupportedTypes})");
        }

        int rank = magic[3];
        Span<byte> dimensionBytes = stackalloc byte[4 * rank];
        int dimensionsGot = Fill(input, dimensionBytes, sourceName, compressed);
        if (dimensionsGot < dimensionBytes.Length)
        {
            throw DataFormatErrors.Create(sourceName,
                $"truncated header: the magic announces {rank} dimensions ({4 * rank} bytes) but the {what} ends after {dimensionsGot} of them");
        }
        var shape = new long[rank];
        for (int axis = 0; axis < rank; axis++)
        {
            shape[axis] = BinaryPrimitives.ReadUInt32BigEndian(dimensionBytes[(4 * axis)..]);
        }

        long count = ShapeMath.ElementCountOrOverflow(shape);
        if (count < 0 || count > Array.MaxLength / type.SizeOf())
        {
            throw DataFormatErrors.Create(sourceName, $"shape {ShapeMath.ToTuple(shape)} is too large to load into memory");
        }
        var data = new byte[count * type.SizeOf()];
        int dataGot = Fill(input, data, sourceName, compressed);
        if (dataGot < data.Length)
        {
            throw DataFormatErrors.Create(sourceName,
                $"truncated: the header says {type.ToName()}{ShapeMath.ToTuple(shape)} needs {data.Length} bytes of data, but the {what} has only {dataGot}");
        }
        // IDX stores multi-byte elements big-endian; we keep everything little-endian.
        ElementConverter.ReverseEndianness(type, data);
        return new NpyArray(type, shape, data);
    }

    private static int Fill(Stream input, Span<byte> buffer, string sourceName, bool compressed)
    {
        try
        {
            return input.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e) when (compressed)
        {
            throw DataFormatErrors.Create(sourceName, $"gzip data is corrupt: {e.Message}", e);
        }
    }

    private static string Hex(ReadOnlySpan<byte> bytes) =>
        string.Join(' ', bytes.ToArray().Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));
}
