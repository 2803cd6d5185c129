using System.Buffers.Binary;
using System.Text;

namespace EdgeRuntime.Data.Tests;

/// <summary>Hand-crafted .npy files, built byte by byte independently of the code under test.</summary>
internal static class NpyBytes
{
    public static byte[] Build(string header, ReadOnlySpan<byte> data, int major = 1, int minor = 0)
    {
        byte[] headerBytes = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetBytes(header);
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, (byte)minor };
        if (major == 1)
        {
            var length = new byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)headerBytes.Length);
            bytes.AddRange(length);
        }
        else
        {
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)headerBytes.Length);
            bytes.AddRange(length);
        }
        bytes.AddRange(headerBytes);
        bytes.AddRange(data.ToArray());
        return [.. bytes];
    }

    public static byte[] LittleEndianFloats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        }
        return bytes;
    }
}
