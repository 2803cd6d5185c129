using System.Buffers.Binary;

namespace EdgeRuntime.Protocol;

/// <summary>
/// Checks that a payload is exactly one well-formed MessagePack value, nests no deeper than a cap and uses no
/// extension types, before any deserialiser sees it. Iterative with a fixed-size stack, so hostile input can
/// neither recurse nor allocate; O(number of tokens), and declared lengths are checked against the bytes left.
/// </summary>
public static class MessagePackStructure
{
    public static void Validate(ReadOnlySpan<byte> payload, int maxDepth)
    {
        Span<long> remaining = stackalloc long[maxDepth + 1];
        int depth = 0;
        remaining[0] = 1;
        int position = 0;
        while (true)
        {
            while (depth >= 0 && remaining[depth] == 0)
            {
                depth--;
            }
            if (depth < 0)
            {
                break;
            }
            if (position >= payload.Length)
            {
                throw Malformed($"the payload ends inside a value (at byte {position})");
            }
            remaining[depth]--;
            byte token = payload[position++];
            long children = 0;
            long skip;
            switch (token)
            {
                case <= 0x7f or >= 0xe0 or 0xc0 or 0xc2 or 0xc3:
                    skip = 0;
                    break;
                case <= 0x8f:
                    children = 2L * (token & 0x0f);
                    skip = 0;
                    break;
                case <= 0x9f:
                    children = token & 0x0f;
                    skip = 0;
                    break;
                case <= 0xbf:
                    skip = token & 0x1f;
                    break;
                case 0xc4 or 0xd9:
                    skip = ReadLength(payload, ref position, 1);
                    break;
                case 0xc5 or 0xda:
                    skip = ReadLength(payload, ref position, 2);
                    break;
                case 0xc6 or 0xdb:
                    skip = ReadLength(payload, ref position, 4);
                    break;
                case 0xca or 0xce or 0xd2:
                    skip = 4;
                    break;
                case 0xcb or 0xcf or 0xd3:
                    skip = 8;
                    break;
                case 0xcc or 0xd0:
                    skip = 1;
                    break;
                case 0xcd or 0xd1:
                    skip = 2;
                    break;
                case 0xdc:
                    children = ReadLength(payload, ref position, 2);
                    skip = 0;
                    break;
                case 0xdd:
                    children = ReadLength(payload, ref position, 4);
                    skip = 0;
                    break;
                case 0xde:
                    children = 2 * ReadLength(payload, ref position, 2);
                    skip = 0;
                    break;
                case 0xdf:
                    children = 2 * ReadLength(payload, ref position, 4);
                    skip = 0;
                    break;
                case 0xc1:
                    throw Malformed($"byte 0xc1 at {position - 1} is not a MessagePack type");
                default:
                    // 0xc7-0xc9 and 0xd4-0xd8: extension types, which no message of this protocol uses.
                    throw Malformed($"extension type 0x{token:x2} at byte {position - 1} is not allowed");
            }
            if (skip > payload.Length - position)
            {
                throw Malformed($"a value at byte {position} declares {skip} bytes but only {payload.Length - position} remain");
            }
            position += (int)skip;
            if (children > 0)
            {
                // Each child takes at least one byte, so a count beyond the bytes left is a lie.
                if (children > payload.Length - position)
                {
                    throw Malformed($"a container at byte {position} declares {children} elements but only {payload.Length - position} bytes remain");
                }
                if (depth + 1 > maxDepth)
                {
                    throw new ProtocolException(ErrorCode.NestingTooDeep, $"arrays and maps nest deeper than {maxDepth} levels");
                }
                remaining[++depth] = children;
            }
        }
        if (position != payload.Length)
        {
            throw Malformed($"{payload.Length - position} trailing byte(s) after the message");
        }
    }

    private static long ReadLength(ReadOnlySpan<byte> payload, ref int position, int bytes)
    {
        if (payload.Length - position < bytes)
        {
            throw Malformed($"a length field at byte {position} is cut off");
        }
        var field = payload.Slice(position, bytes);
        position += bytes;
        return bytes switch
        {
            1 => field[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(field),
            _ => BinaryPrimitives.ReadUInt32BigEndian(field),
        };
    }

    private static ProtocolException Malformed(string message) => new(ErrorCode.MalformedFrame, "malformed MessagePack: " + message);
}
