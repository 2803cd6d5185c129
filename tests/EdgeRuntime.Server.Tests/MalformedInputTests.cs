using System.Buffers.Binary;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using MessagePack;

namespace EdgeRuntime.Server.Tests;

/// <summary>Bad bytes and bad tensors get a typed error, and the same connection goes on working.</summary>
public sealed class MalformedInputTests
{
    [Fact]
    public async Task Each_bad_frame_gets_its_typed_error_and_the_connection_stays_usable()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxFrameBytes = 64 * 1024);
        using var raw = server.Raw();

        raw.SendPayload([0xc1, 0x00, 0x13]);
        Assert.Equal(ErrorCode.MalformedFrame, (await raw.ReceiveErrorAsync()).Code);
        await raw.AssertUsableAsync();

        raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(4); w.Write(3u); w.WriteNil(); w.Write(1); }));
        Assert.Equal(ErrorCode.MalformedFrame, (await raw.ReceiveErrorAsync()).Code);
        await raw.AssertUsableAsync();

        raw.SendPayload([.. Enumerable.Repeat((byte)0x91, 40), 0x01]);
        Assert.Equal(ErrorCode.NestingTooDeep, (await raw.ReceiveErrorAsync()).Code);
        await raw.AssertUsableAsync();

        raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(4); w.Write(1); w.Write(4); w.Write(21u);
            for (int i = 0; i < 20; i++)
            {
                w.WriteMapHeader(1);
                w.Write("k");
            }
            w.WriteNil();
        }));
        var deep = await raw.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.NestingTooDeep, deep.Code);
        await raw.AssertUsableAsync();

        raw.Send(MessageType.Infer, 22, new InferRequest { Inputs = [WireTensor.FromArray("input", new float[100_000], 100_000)] });
        var tooLarge = await raw.ReceiveErrorAsync();
        Assert.Equal((ErrorCode.FrameTooLarge, 22u), (tooLarge.Code, tooLarge.RequestId));
        await raw.AssertUsableAsync();

        raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(9); w.Write(4); w.Write(23u); w.WriteNil(); }));
        Assert.Equal((ErrorCode.UnsupportedVersion, 23u), ((await raw.ReceiveErrorAsync()) is var v ? (v.Code, v.RequestId) : default));
        await raw.AssertUsableAsync();

        raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(99); w.Write(24u); w.WriteNil(); }));
        Assert.Equal(ErrorCode.UnknownOperation, (await raw.ReceiveErrorAsync()).Code);
        raw.Send(MessageType.Error, 25, new ErrorBody());
        Assert.Equal(ErrorCode.UnknownOperation, (await raw.ReceiveErrorAsync()).Code);
        await raw.AssertUsableAsync();

        raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) => { w.WriteArrayHeader(4); w.Write(1); w.Write(2); w.Write(26u); w.WriteMapHeader(1); w.Write("inputs"); w.Write(12); }));
        Assert.Equal(ErrorCode.InvalidRequest, (await raw.ReceiveErrorAsync()).Code);
        raw.Send(MessageType.Infer, 27, new InferRequest());
        var missing = await raw.ReceiveErrorAsync();
        Assert.Equal(ErrorCode.InvalidRequest, missing.Code);
        Assert.Contains("inputs", missing.Message);
        await raw.AssertUsableAsync();

        byte[] zeroLength = new byte[4];
        raw.SendBytes(zeroLength);
        Assert.Equal(ErrorCode.MalformedFrame, (await raw.ReceiveErrorAsync()).Code);
        await raw.AssertUsableAsync();

        // The daemon itself still serves inferences after all of it.
        Assert.Equal(10, (await server.Client().InferAsync(TestServer.Image()))["logits"].ToArray<float>().Length);
    }

    [Fact]
    public async Task Wrong_dtypes_shapes_names_and_byte_counts_get_invalid_input()
    {
        await using var server = await TestServer.StartAsync();
        using var raw = server.Raw();
        var image = TestBundles.Image(1);
        var cases = new (string What, WireTensor[] Inputs)[]
        {
            ("int32 instead of float32", [WireTensor.FromArray("input", new int[784], 1, 1, 28, 28)]),
            ("unknown dtype", [new WireTensor("input", "complex64", [1, 1, 28, 28], new byte[784 * 8])]),
            ("string dtype", [new WireTensor("input", "string", [1], new byte[4])]),
            ("wrong shape", [WireTensor.FromArray("input", image, 1, 28, 28, 1)]),
            ("wrong rank", [WireTensor.FromArray("input", image, 784)]),
            ("negative dimension", [new WireTensor("input", "float32", [-1, 1, 28, 28], new byte[784 * 4])]),
            ("bytes do not match the shape", [new WireTensor("input", "float32", [1, 1, 28, 28], new byte[100])]),
            ("huge shape", [new WireTensor("input", "float32", [long.MaxValue, long.MaxValue], new byte[4])]),
            ("wrong name", [WireTensor.FromArray("pixels", image, 1, 1, 28, 28)]),
            ("input twice", [WireTensor.FromArray("input", image, 1, 1, 28, 28), WireTensor.FromArray("input", image, 1, 1, 28, 28)]),
            ("no inputs", []),
        };
        uint id = 100;
        foreach (var (what, inputs) in cases)
        {
            raw.Send(MessageType.Infer, ++id, new InferRequest { Inputs = inputs });
            var (code, message, replyId) = await raw.ReceiveErrorAsync();
            Assert.True(code == ErrorCode.InvalidInput, $"{what}: got {code} ({message})");
            Assert.Equal(id, replyId);
        }
        await raw.AssertUsableAsync();

        raw.Send(MessageType.Infer, 500, new InferRequest { Inputs = [WireTensor.FromArray("input", image, 1, 1, 28, 28)], Priority = 7 });
        Assert.Equal(ErrorCode.InvalidRequest, (await raw.ReceiveErrorAsync()).Code);
        raw.Send(MessageType.Infer, 501, new InferRequest { Model = "nope", Inputs = [WireTensor.FromArray("input", image, 1, 1, 28, 28)] });
        Assert.Equal(ErrorCode.UnknownModel, (await raw.ReceiveErrorAsync()).Code);

        raw.Send(MessageType.Infer, 502, new InferRequest { Inputs = [WireTensor.FromArray("input", image, 1, 1, 28, 28)] });
        var ok = await raw.ReceiveAsync();
        Assert.Equal((MessageType.Infer, 502u), (ok.Type, ok.RequestId));
    }

    [Fact]
    public async Task Tensor_bytes_at_any_alignment_give_the_same_result()
    {
        await using var server = await TestServer.StartAsync();
        using var raw = server.Raw();
        byte[] pixels = System.Runtime.InteropServices.MemoryMarshal.AsBytes(TestBundles.Image(5).AsSpan()).ToArray();
        var outputs = new List<float[]>();
        // An unknown padding field before "data" moves the tensor bytes to every offset modulo 4.
        for (int pad = 0; pad < 4; pad++)
        {
            raw.SendPayload(ProtocolTests.Payload((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(4); w.Write(1); w.Write(2); w.Write((uint)(600 + pad));
                w.WriteMapHeader(1);
                w.Write("inputs");
                w.WriteArrayHeader(1);
                w.WriteMapHeader(5);
                w.Write("name"); w.Write("input");
                w.Write("dtype"); w.Write("float32");
                w.Write("shape"); w.WriteArrayHeader(4); w.Write(1); w.Write(1); w.Write(28); w.Write(28);
                w.Write("pad"); w.Write(new string('x', pad));
                w.Write("data"); w.Write(pixels);
            }));
            var reply = await raw.ReceiveAsync();
            Assert.Equal(MessageType.Infer, reply.Type);
            outputs.Add(Assert.Single(FrameCodec.DecodeBody<InferResponse>(reply).Outputs).ToArray<float>());
        }
        Assert.All(outputs, o => Assert.Equal(outputs[0], o));
    }

    [Fact]
    public async Task A_frame_too_large_to_skip_closes_only_that_connection()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxFrameBytes = 4096);
        using var raw = server.Raw();
        byte[] prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, uint.MaxValue);
        raw.SendBytes([.. prefix, .. new byte[64]]);
        Assert.Equal(ErrorCode.FrameTooLarge, (await raw.ReceiveErrorAsync()).Code);
        Assert.True(await raw.IsClosedByPeerAsync());

        using var other = server.Raw();
        await other.AssertUsableAsync();
    }
}
