using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using MessagePack;

namespace EdgeRuntime.Server.Tests;

public sealed class ProtocolTests
{
    internal delegate void PayloadWriter(ref MessagePackWriter writer);

    internal static byte[] Payload(PayloadWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Frame<T>(MessageType type, uint id, T body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteFrame(buffer, type, id, body);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_frame_round_trips_and_tensor_bytes_are_slices_of_the_frame()
    {
        var pixels = TestBundles.Image(3);
        byte[] frame = Frame(MessageType.Infer, 42, new InferRequest { Inputs = [WireTensor.FromArray("input", pixels, 1, 1, 28, 28)], DeadlineMs = 7 });
        Assert.Equal((uint)(frame.Length - 4), BinaryPrimitives.ReadUInt32BigEndian(frame));

        var payload = frame.AsMemory(4);
        var envelope = FrameCodec.DecodeEnvelope(payload, FrameLimits.Default);
        Assert.Equal((MessageType.Infer, 42u, 1), (envelope.Type, envelope.RequestId, envelope.Version));
        var request = FrameCodec.DecodeBody<InferRequest>(envelope);
        Assert.Equal(7u, request.DeadlineMs);
        var tensor = Assert.Single(request.Inputs!);
        Assert.Equal(pixels, tensor.ToArray<float>());
        Assert.True(MemoryMarshal.TryGetArray(tensor.Data, out var segment));
        Assert.Same(frame, segment.Array);
    }

    [Fact]
    public void Structure_check_rejects_trailing_truncated_extension_and_lying_lengths()
    {
        byte[] valid = Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(3); w.Write(1u); w.WriteMapHeader(0); });
        MessagePackStructure.Validate(valid, 16);

        var cases = new Dictionary<string, byte[]>
        {
            ["trailing"] = [.. valid, 0x01],
            ["truncated"] = valid[..^1],
            ["extension"] = [0x94, 0x01, 0x03, 0x01, 0xd4, 0x01, 0x00],
            ["never-used byte"] = [0x94, 0x01, 0x03, 0x01, 0xc1],
            ["array count beyond the bytes"] = [0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01],
            ["string length beyond the bytes"] = [0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61],
            ["cut length field"] = [0xc6, 0x00],
            ["empty"] = [],
        };
        foreach (var (name, bytes) in cases)
        {
            var e = Assert.Throws<ProtocolException>(() => MessagePackStructure.Validate(bytes, 16));
            Assert.True(e.Code == ErrorCode.MalformedFrame, $"{name}: {e.Code}");
        }
    }

    [Fact]
    public void Nesting_beyond_the_cap_is_refused_and_up_to_it_accepted()
    {
        byte[] Nested(int depth) => [.. Enumerable.Repeat((byte)0x91, depth), 0x01];
        MessagePackStructure.Validate(Nested(16), 16);
        var e = Assert.Throws<ProtocolException>(() => MessagePackStructure.Validate(Nested(17), 16));
        Assert.Equal(ErrorCode.NestingTooDeep, e.Code);
        // A million levels cost neither stack nor memory.
        Assert.Equal(ErrorCode.NestingTooDeep, Assert.Throws<ProtocolException>(() => MessagePackStructure.Validate(Nested(1_000_000), 16)).Code);
    }

    [Fact]
    public void Envelope_errors_are_typed_and_keep_the_request_id_when_readable()
    {
        byte[] otherVersion = Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(2); w.Write(3); w.Write(77u); w.WriteNil(); });
        var e = Assert.Throws<ProtocolException>(() => FrameCodec.DecodeEnvelope(otherVersion, FrameLimits.Default));
        Assert.Equal((ErrorCode.UnsupportedVersion, 77u), (e.Code, e.RequestId));

        byte[] notAnArray = Payload((ref MessagePackWriter w) => w.Write("hello"));
        Assert.Equal(ErrorCode.MalformedFrame, Assert.Throws<ProtocolException>(() => FrameCodec.DecodeEnvelope(notAnArray, FrameLimits.Default)).Code);

        byte[] wrongTypes = Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write("1"); w.Write(3); w.Write(1u); w.WriteNil(); });
        Assert.Equal(ErrorCode.MalformedFrame, Assert.Throws<ProtocolException>(() => FrameCodec.DecodeEnvelope(wrongTypes, FrameLimits.Default)).Code);

        byte[] badBody = Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(2); w.Write(5u); w.WriteMapHeader(1); w.Write("inputs"); w.Write("not a list"); });
        var envelope = FrameCodec.DecodeEnvelope(badBody, FrameLimits.Default);
        var bodyError = Assert.Throws<ProtocolException>(() => FrameCodec.DecodeBody<InferRequest>(envelope));
        Assert.Equal((ErrorCode.InvalidRequest, 5u), (bodyError.Code, bodyError.RequestId));
    }

    [Fact]
    public async Task Reader_skips_an_oversized_frame_reporting_its_id_and_reads_the_next()
    {
        var limits = new FrameLimits { MaxFrameBytes = 1024, MaxDiscardBytes = 1 << 20 };
        byte[] big = Frame(MessageType.Infer, 9, new InferRequest { Inputs = [WireTensor.FromArray("x", new float[4096], 4096)] });
        byte[] small = Frame(MessageType.Status, 10, new StatusRequest());
        using var stream = new MemoryStream([.. big, .. small]);
        var reader = new FrameReader(stream, limits);

        var e = await Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync());
        Assert.Equal((ErrorCode.FrameTooLarge, 9u, true), (e.Code, e.RequestId, e.ConnectionUsable));
        using var next = await reader.ReadAsync();
        Assert.Equal(10u, FrameCodec.DecodeEnvelope(next!.Payload, limits).RequestId);
        Assert.Null(await reader.ReadAsync());
    }

    [Fact]
    public async Task Reader_gives_up_on_a_frame_too_large_to_skip()
    {
        var limits = new FrameLimits { MaxFrameBytes = 1024, MaxDiscardBytes = 4096 };
        byte[] prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, uint.MaxValue);
        using var stream = new MemoryStream([.. prefix, .. new byte[64]]);
        var e = await Assert.ThrowsAsync<ProtocolException>(async () => await new FrameReader(stream, limits).ReadAsync());
        Assert.Equal(ErrorCode.FrameTooLarge, e.Code);
        Assert.False(e.ConnectionUsable);
    }

    [Fact]
    public async Task Writer_refuses_a_message_over_the_cap_without_writing()
    {
        using var stream = new MemoryStream();
        using var writer = new FrameWriter(stream, maxFrameBytes: 256);
        var e = await Assert.ThrowsAsync<ProtocolException>(async () =>
            await writer.WriteAsync(MessageType.Infer, 3, new InferRequest { Inputs = [WireTensor.FromArray("x", new float[1024], 1024)] }));
        Assert.Equal(ErrorCode.FrameTooLarge, e.Code);
        Assert.Equal(0, stream.Length);
    }
}
