using System.Buffers;
using MessagePack;
using MessagePack.Formatters;

namespace EdgeRuntime.Protocol;

/// <summary>
/// Reads a tensor map without copying its bytes: the "data" field becomes a slice of the buffer being read.
/// Written by hand because the generated formatter for ReadOnlyMemory&lt;byte&gt; copies.
/// </summary>
public sealed class WireTensorFormatter : IMessagePackFormatter<WireTensor?>
{
    /// <summary>Ranks beyond this are refused before any array is allocated.</summary>
    public const int MaxRank = 16;

    public void Serialize(ref MessagePackWriter writer, WireTensor? value, MessagePackSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }
        writer.WriteMapHeader(4);
        writer.Write("name");
        writer.Write(value.Name);
        writer.Write("dtype");
        writer.Write(value.DataType);
        writer.Write("shape");
        writer.WriteArrayHeader(value.Shape.Length);
        foreach (long dimension in value.Shape)
        {
            writer.Write(dimension);
        }
        writer.Write("data");
        writer.Write(value.Data.Span);
    }

    public WireTensor? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil())
        {
            return null;
        }
        options.Security.DepthStep(ref reader);
        try
        {
            string? name = null;
            string? dataType = null;
            long[]? shape = null;
            ReadOnlyMemory<byte>? data = null;
            int fields = reader.ReadMapHeader();
            for (int i = 0; i < fields; i++)
            {
                switch (reader.ReadString())
                {
                    case "name":
                        name = reader.ReadString();
                        break;
                    case "dtype":
                        dataType = reader.ReadString();
                        break;
                    case "shape":
                        shape = ReadShape(ref reader);
                        break;
                    case "data":
                        data = ReadData(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (string.IsNullOrEmpty(name))
            {
                throw new MessagePackSerializationException("a tensor has no 'name'");
            }
            return new WireTensor(
                name,
                dataType ?? throw new MessagePackSerializationException($"tensor '{name}' has no 'dtype'"),
                shape ?? throw new MessagePackSerializationException($"tensor '{name}' has no 'shape'"),
                data ?? throw new MessagePackSerializationException($"tensor '{name}' has no 'data'"));
        }
        finally
        {
            reader.Depth--;
        }
    }

    private static long[] ReadShape(ref MessagePackReader reader)
    {
        int rank = reader.ReadArrayHeader();
        if (rank > MaxRank)
        {
            throw new MessagePackSerializationException($"a tensor shape has {rank} dimensions; at most {MaxRank} are allowed");
        }
        var shape = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            shape[i] = reader.ReadInt64();
        }
        return shape;
    }

    private static ReadOnlyMemory<byte> ReadData(ref MessagePackReader reader)
    {
        ReadOnlySequence<byte>? bytes = reader.ReadBytes();
        if (bytes is not { } sequence)
        {
            return ReadOnlyMemory<byte>.Empty;
        }
        // A frame read into one buffer is a single segment: slice it rather than copy.
        return sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
    }
}
