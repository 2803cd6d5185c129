using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EdgeRuntime.Data;

/// <summary>Reads and writes the magic, version and dict header at the start of a .npy file.</summary>
internal static class NpyHeaderCodec
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>NumPy aligns the data to this many bytes (the header is padded with spaces).</summary>
    private const int Alignment = 64;

    /// <summary>Headers are a few hundred bytes; anything far beyond this is a corrupt length field.</summary>
    private const int MaxHeaderLength = 16 * 1024 * 1024;

    private const string SupportedDescrs = "<f2, <f4, <f8, |i1, |u1, <i2, <u2, <i4, <u4, <i8, <u8, |b1 (little- or big-endian)";

    /// <summary>Reads the header from the stream's current position, leaving the stream at the first data byte.</summary>
    public static NpyHeader Read(Stream stream, string sourceName)
    {
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;

        Span<byte> preamble = stackalloc byte[12];
        int got = ReadUpTo(stream, preamble[..8]);
        if (got == 0)
        {
            throw DataFormatErrors.Create(sourceName, "not a .npy file: the file is empty");
        }
        if (got < Magic.Length || !preamble[..Magic.Length].SequenceEqual(Magic))
        {
            if (got < Magic.Length && preamble[..got].SequenceEqual(Magic[..got]))
            {
                throw DataFormatErrors.Create(sourceName, $"truncated: the file is only {got} bytes long, too short for the .npy magic");
            }
            throw DataFormatErrors.Create(sourceName,
                $"not a .npy file: bad magic bytes {Hex(preamble[..Math.Min(got, 6)])} (expected 93 4E 55 4D 50 59, \"\\x93NUMPY\")");
        }
        if (got < 8)
        {
            throw DataFormatErrors.Create(sourceName, "truncated header: the file ends inside the format version");
        }

        int major = preamble[6];
        int minor = preamble[7];
        if (minor != 0 || major is < 1 or > 3)
        {
            throw DataFormatErrors.Create(sourceName, $"unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)");
        }

        int lengthFieldSize = major == 1 ? 2 : 4;
        if (ReadUpTo(stream, preamble.Slice(8, lengthFieldSize)) < lengthFieldSize)
        {
            throw DataFormatErrors.Create(sourceName, "truncated header: the file ends inside the header length field");
        }
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(preamble[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(preamble[8..]);
        long preambleLength = 8 + lengthFieldSize;

        if (available is long total && preambleLength + headerLength > total)
        {
            throw DataFormatErrors.Create(sourceName,
                $"truncated header: it declares {headerLength} bytes but only {total - preambleLength} follow");
        }
        if (headerLength > MaxHeaderLength)
        {
            throw DataFormatErrors.Create(sourceName, $"header length {headerLength} is implausibly large (corrupt length field?)");
        }

        var headerBytes = new byte[headerLength];
        int headerGot = ReadUpTo(stream, headerBytes);
        if (headerGot < headerLength)
        {
            throw DataFormatErrors.Create(sourceName,
                $"truncated header: it declares {headerLength} bytes but only {headerGot} follow");
        }

        // Versions 1 and 2 use latin-1; version 3 exists to allow UTF-8 (e.g. field names).
        string text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(headerBytes);
        return ParseDict(text, sourceName, new Version(major, minor), preambleLength + headerLength);
    }

    private static NpyHeader ParseDict(string text, string sourceName, Version version, long dataOffset)
    {
        object? literal;
        try
        {
            literal = PythonLiteralParser.Parse(text);
        }
        catch (FormatException e)
        {
            throw DataFormatErrors.Create(sourceName, $"header is not a valid Python dict literal ({e.Message}): {Snippet(text)}", e);
        }
        if (literal is not Dictionary<string, object?> dict)
        {
            throw DataFormatErrors.Create(sourceName, $"header is not a dict literal: {Snippet(text)}");
        }

        object? descr = Require(dict, "descr", sourceName, text);
        object? fortranOrder = Require(dict, "fortran_order", sourceName, text);
        object? shapeValue = Require(dict, "shape", sourceName, text);

        var (elementType, bigEndian) = descr switch
        {
            string s => ParseDescr(s, sourceName),
            List<object?> => throw DataFormatErrors.Create(sourceName,
                $"unsupported dtype: structured (record) dtypes are not supported, only plain numeric ones: {SupportedDescrs}"),
            _ => throw DataFormatErrors.Create(sourceName, $"header 'descr' must be a dtype string such as '<f4': {Snippet(text)}"),
        };
        if (fortranOrder is not bool isFortran)
        {
            throw DataFormatErrors.Create(sourceName, $"header 'fortran_order' must be True or False: {Snippet(text)}");
        }
        if (shapeValue is not List<object?> dims || dims.Any(d => d is not long))
        {
            throw DataFormatErrors.Create(sourceName, $"header 'shape' must be a tuple of integers: {Snippet(text)}");
        }

        long[] shape = dims.Select(d => (long)d!).ToArray();
        if (shape.Any(d => d < 0))
        {
            throw DataFormatErrors.Create(sourceName, $"shape {ShapeMath.ToTuple(shape)} has a negative dimension");
        }
        if (ShapeMath.ElementCountOrOverflow(shape) < 0 || ShapeMath.ElementCountOrOverflow(shape) > long.MaxValue / elementType.SizeOf())
        {
            throw DataFormatErrors.Create(sourceName, $"shape {ShapeMath.ToTuple(shape)} has more elements than can be addressed");
        }

        return new NpyHeader
        {
            ElementType = elementType,
            Shape = shape,
            FortranOrder = isFortran,
            IsBigEndian = bigEndian,
            FormatVersion = version,
            DataOffset = dataOffset,
        };
    }

    private static object? Require(Dictionary<string, object?> dict, string key, string sourceName, string text) =>
        dict.TryGetValue(key, out object? value)
            ? value
            : throw DataFormatErrors.Create(sourceName, $"header has no '{key}' key: {Snippet(text)}");

    private static (DataElementType Type, bool BigEndian) ParseDescr(string descr, string sourceName)
    {
        char order = '=';
        string code = descr;
        if (descr.Length > 0 && descr[0] is '<' or '>' or '|' or '=')
        {
            order = descr[0];
            code = descr[1..];
        }
        DataElementType? type = code switch
        {
            "f2" or "e" => DataElementType.Float16,
            "f4" or "f" => DataElementType.Float32,
            "f8" or "d" => DataElementType.Float64,
            "i1" or "b" => DataElementType.Int8,
            "u1" or "B" => DataElementType.UInt8,
            "i2" or "h" => DataElementType.Int16,
            "u2" or "H" => DataElementType.UInt16,
            "i4" => DataElementType.Int32,
            "u4" => DataElementType.UInt32,
            "i8" => DataElementType.Int64,
            "u8" => DataElementType.UInt64,
            "b1" or "?" => DataElementType.Bool,
            _ => null,
        };
        if (type is null)
        {
            throw DataFormatErrors.Create(sourceName, $"unsupported dtype '{descr}'; supported: {SupportedDescrs}");
        }
        // '=' means native order; every platform .NET runs this on is little-endian.
        bool bigEndian = order == '>' && type.Value.SizeOf() > 1;
        return (type.Value, bigEndian);
    }

    /// <summary>The dtype string NumPy writes for this element type.</summary>
    public static string DescrOf(DataElementType type) => type switch
    {
        DataElementType.Float16 => "<f2",
        DataElementType.Float32 => "<f4",
        DataElementType.Float64 => "<f8",
        DataElementType.Int8 => "|i1",
        DataElementType.UInt8 => "|u1",
        DataElementType.Int16 => "<i2",
        DataElementType.UInt16 => "<u2",
        DataElementType.Int32 => "<i4",
        DataElementType.UInt32 => "<u4",
        DataElementType.Int64 => "<i8",
        DataElementType.UInt64 => "<u8",
        DataElementType.Bool => "|b1",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>Magic, version, length and padded dict, ready to be followed by the data.</summary>
    public static byte[] Encode(DataElementType type, ReadOnlySpan<long> shape)
    {
        string dict = $"{{'descr': '{DescrOf(type)}', 'fortran_order': False, 'shape': {ShapeMath.ToTuple(shape)}, }}";
        // Version 1.0 unless the header does not fit its 16-bit length field (only absurdly high ranks).
        int lengthFieldSize = dict.Length + 1 + 10 + Alignment <= ushort.MaxValue ? 2 : 4;
        int preambleLength = Magic.Length + 2 + lengthFieldSize;
        int unpadded = preambleLength + dict.Length + 1; // +1 for the closing '\n'
        int padding = (Alignment - unpadded % Alignment) % Alignment;
        int headerLength = dict.Length + padding + 1;

        var bytes = new byte[preambleLength + headerLength];
        Magic.CopyTo(bytes);
        bytes[6] = lengthFieldSize == 2 ? (byte)1 : (byte)2;
        bytes[7] = 0;
        if (lengthFieldSize == 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), (uint)headerLength);
        }
        Span<byte> header = bytes.AsSpan(preambleLength);
        Encoding.ASCII.GetBytes(dict, header);
        header[dict.Length..^1].Fill((byte)' ');
        header[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary>Reads until the buffer is full or the stream ends; returns the bytes read.</summary>
    internal static int ReadUpTo(Stream stream, Span<byte> buffer) =>
        stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);

    private static string Hex(ReadOnlySpan<byte> bytes) =>
        string.Join(' ', bytes.ToArray().Select(b => b.ToString("X2", CultureInfo.InvariantCulture)));

    private static string Snippet(string text)
    {
        string trimmed = text.TrimEnd();
        return trimmed.Length <= 200 ? $"\"{trimmed}\"" : $"\"{trimmed[..200]}...\"";
    }
}
