using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using EdgeRuntime.Protocol;
using EdgeRuntime.Protocol.Messages;
using EdgeRuntime.Server.Connections;

namespace EdgeRuntime.Bench.Fuzzing;

/// <summary>
/// Mutation fuzzer for the daemon's decoding path: valid frames of every operation are mutated (bit flips,
/// interesting bytes, inserted, deleted, repeated and spliced ranges, forged lengths and headers, deep
/// nesting), then read, checked and decoded exactly as a connection does. Anything other than a typed
/// protocol error counts as a crash.
/// </summary>
public static class ProtocolFuzzer
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

    public static FuzzReport Run(long frames, int seed, FrameLimits? limits = null, TimeSpan? hangLimit = null, Action<long>? progress = null)
    {
        limits ??= new FrameLimits { MaxFrameBytes = 1 << 16, MaxDiscardBytes = 1 << 17 };
        var hang = hangLimit ?? TimeSpan.FromSeconds(1);
        var random = new Random(seed);
        var corpus = Corpus();
        var byCode = new Dictionary<string, long>();
        long accepted = 0, rejected = 0, crashes = 0, hangs = 0;
        string? firstCrash = null;
        double maxMs = 0;
        long startBytes = GC.GetTotalMemory(true);
        long peakBytes = startBytes;
        var total = Stopwatch.StartNew();
        for (long i = 0; i < frames; i++)
        {
            byte[] input = Mutate(corpus, random);
            long started = Stopwatch.GetTimestamp();
            try
            {
                int decoded = DecodeAll(input, limits);
                accepted += decoded;
                if (decoded == 0)
                {
                    rejected++;
                }
            }
            catch (ProtocolException e)
            {
                rejected++;
                string code = e.Code.ToString();
                byCode[code] = byCode.GetValueOrDefault(code) + 1;
            }
            catch (EndOfStreamException)
            {
                rejected++;
                byCode["Truncated"] = byCode.GetValueOrDefault("Truncated") + 1;
            }
            catch (Exception e)
            {
                crashes++;
                firstCrash ??= $"{e.GetType().Name}: {e.Message} on input {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 256)))}\n{e.StackTrace}";
            }
            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            maxMs = Math.Max(maxMs, ms);
            if (ms > hang.TotalMilliseconds)
            {
                hangs++;
            }
            if ((i & 0x3fff) == 0)
            {
                peakBytes = Math.Max(peakBytes, GC.GetTotalMemory(false));
                progress?.Invoke(i);
            }
        }
        peakBytes = Math.Max(peakBytes, GC.GetTotalMemory(false));
        return new FuzzReport(frames, accepted, rejected, byCode, crashes, firstCrash, hangs, maxMs, peakBytes, startBytes, total.Elapsed.TotalSeconds, seed);
    }

    /// <summary>Reads every frame from the bytes as a connection would; returns how many decoded fully.</summary>
    public static int DecodeAll(byte[] input, FrameLimits limits)
    {
        using var stream = new MemoryStream(input, writable: false);
        var reader = new FrameReader(stream, limits);
        int decoded = 0;
        for (int n = 0; n < 4; n++)
        {
            var pending = reader.ReadAsync();
            // A MemoryStream completes synchronously; anything else would be a hang in the reader.
            using var frame = pending.IsCompleted ? pending.Result : throw new InvalidOperationException("the frame reader did not complete on in-memory input");
            if (frame is null)
            {
                break;
            }
            var envelope = FrameCodec.DecodeEnvelope(frame.Payload, limits);
            DecodeBody(envelope);
            decoded++;
        }
        return decoded;
    }

    private static void DecodeBody(in Envelope envelope)
    {
        switch (envelope.Type)
        {
            case MessageType.Hello:
                FrameCodec.DecodeBody<HelloRequest>(envelope);
                break;
            case MessageType.Infer:
                var request = FrameCodec.DecodeBody<InferRequest>(envelope);
                if (request.Inputs is not null)
                {
                    WireTensors.ToInputs(request.Inputs);
                }
                break;
            case MessageType.ListModels:
                FrameCodec.DecodeBody<ListModelsRequest>(envelope);
                break;
            case MessageType.Status:
                FrameCodec.DecodeBody<StatusRequest>(envelope);
                break;
            case MessageType.SetHints:
                FrameCodec.DecodeBody<SetHintsRequest>(envelope);
                break;
            case MessageType.Subscribe:
                FrameCodec.DecodeBody<SubscribeRequest>(envelope);
                break;
            case MessageType.Unsubscribe:
                FrameCodec.DecodeBody<UnsubscribeRequest>(envelope);
                break;
            case MessageType.Reload:
                FrameCodec.DecodeBody<ReloadRequest>(envelope);
                break;
            case MessageType.Cancel:
                FrameCodec.DecodeBody<CancelRequest>(envelope);
                break;
            case MessageType.Event:
                FrameCodec.DecodeBody<ServerEvent>(envelope);
                break;
            case MessageType.Error:
                FrameCodec.DecodeBody<ErrorBody>(envelope);
                break;
            default:
                throw new ProtocolException(ErrorCode.UnknownOperation, "unknown operation");
        }
    }

    /// <summary>One valid frame (prefix included) of every message a client can send, plus two the daemon sends.</summary>
    public static List<byte[]> Corpus()
    {
        var pixels = new float[28 * 28];
        for (int i = 0; i < pixels.Length; i++)
        {
            pixels[i] = i % 7 / 7f;
        }
        return
        [
            Frame(MessageType.Hello, 1, new HelloRequest { Client = "fuzz", Token = "secret-token" }),
            Frame(MessageType.Infer, 2, new InferRequest
            {
                Model = "fashion-cnn",
                Inputs = [WireTensor.FromArray("input", pixels, 1, 1, 28, 28), WireTensor.FromArray("mask", new long[] { 1, 2, 3 }, 3)],
                DeadlineMs = 50,
                MinQuality = 0.8,
                Priority = 2,
            }),
            Frame(MessageType.Infer, 3, new InferRequest { Inputs = [WireTensor.FromArray("x", new byte[] { 1, 2, 3, 4 }, 2, 2)] }),
            Frame(MessageType.ListModels, 4, new ListModelsRequest()),
            Frame(MessageType.Status, 5, new StatusRequest { Model = "fashion-cnn" }),
            Frame(MessageType.SetHints, 6, new SetHintsRequest { Hints = new() { ["variant"] = "int8", ["latency_slo_ms"] = "20" } }),
            Frame(MessageType.Subscribe, 7, new SubscribeRequest { Events = ["switch", "thermal"] }),
            Frame(MessageType.Unsubscribe, 8, new UnsubscribeRequest { Subscription = 7 }),
            Frame(MessageType.Reload, 9, new ReloadRequest { Kind = "bundle", Path = "bundles/fashion-cnn" }),
            Frame(MessageType.Cancel, 10, new CancelRequest { RequestId = 2 }),
            Frame(MessageType.Event, 11, new ServerEvent { Kind = "switch", Model = "m", Switch = new SwitchEvent { From = "a", To = "b", Reason = "hint" } }),
            Frame(MessageType.Error, 12, new ErrorBody { Code = 10, Message = "overloaded" }),
        ];
    }

    private static byte[] Frame<T>(MessageType type, uint id, T body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameCodec.WriteFrame(buffer, type, id, body);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Mutate(List<byte[]> corpus, Random random)
    {
        var data = new List<byte>(corpus[random.Next(corpus.Count)]);
        int mutations = 1 + random.Next(4);
        for (int m = 0; m < mutations; m++)
        {
            if (data.Count == 0)
            {
                data.Add((byte)random.Next(256));
            }
            int at = random.Next(data.Count);
            switch (random.Next(11))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = Interesting[random.Next(Interesting.Length)];
                    break;
                case 2:
                    data.InsertRange(at, RandomBytes(random, 1 + random.Next(8)));
                    break;
                case 3:
                    data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                    break;
                case 4:
                    int length = Math.Min(data.Count - at, 1 + random.Next(32));
                    data.InsertRange(at, data.GetRange(at, length));
                    break;
                case 5:
                    data.RemoveRange(at, data.Count - at);
                    break;
                case 6:
                    ForgeLength(data, random);
                    break;
                case 7:
                    var other = corpus[random.Next(corpus.Count)];
                    int from = random.Next(other.Length);
                    data.InsertRange(at, other.Skip(from).Take(1 + random.Next(64)));
                    break;
                case 8:
                    // Deep nesting: a run of one-element arrays or maps in front of a value.
                    int depth = 1 + random.Next(100);
                    data.InsertRange(Math.Min(Math.Max(at, 4), data.Count), Enumerable.Repeat(random.Next(2) == 0 ? (byte)0x91 : (byte)0x81, depth));
                    FixLength(data);
                    break;
                case 9:
                    // A big-endian 16- or 32-bit count or length with an extreme value.
                    if (at + 4 < data.Count)
                    {
                        data[at] = Interesting[random.Next(Interesting.Length)];
                        data[at + 1] = 0xff;
                        data[at + 2] = (byte)random.Next(256);
                        data[at + 3] = 0xff;
                    }
                    break;
                default:
                    FixLength(data);
                    break;
            }
        }
        // Most inputs keep a consistent prefix so mutations reach the decoder instead of the framing.
        if (random.Next(4) != 0)
        {
            FixLength(data);
        }
        return [.. data];
    }

    private static IEnumerable<byte> RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void FixLength(List<byte> data)
    {
        while (data.Count < FrameCodec.PrefixBytes)
        {
            data.Add(0);
        }
        Span<byte> prefix = stackalloc byte[FrameCodec.PrefixBytes];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)(data.Count - FrameCodec.PrefixBytes));
        for (int i = 0; i < prefix.Length; i++)
        {
            data[i] = prefix[i];
        }
    }

    private static void ForgeLength(List<byte> data, Random random)
    {
        while (data.Count < FrameCodec.PrefixBytes)
        {
            data.Add(0);
        }
        uint length = random.Next(4) switch
        {
            0 => 0,
            1 => uint.MaxValue,
            2 => (uint)random.Next(1 << 20),
            _ => (uint)Math.Max(0, data.Count - FrameCodec.PrefixBytes + random.Next(-8, 8)),
        };
        Span<byte> prefix = stackalloc byte[FrameCodec.PrefixBytes];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, length);
        for (int i = 0; i < prefix.Length; i++)
        {
            data[i] = prefix[i];
        }
    }
}
