using System.Buffers.Binary;
using System.IO.Compression;

namespace EdgeRuntime.Data.Tests;

/// <summary>Hand-crafted IDX files: magic 00 00 type rank, big-endian dimensions, big-endian data.</summary>
internal static class IdxBytes
{
    public static byte[] Build(byte typeCode, int[] shape, ReadOnlySpan<byte> bigEndianData)
    {
        var bytes = new List<byte> { 0, 0, typeCode, (byte)shape.Length };
        foreach (int dim in shape)
        {
            var field = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(field, dim);
            bytes.AddRange(field);
        }
        bytes.AddRange(bigEndianData.ToArray());
        return [.. bytes];
    }

    public static byte[] Gzip(byte[] content)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(content);
        }
        return output.ToArray();
    }
}
