using EdgeRuntime.Protocol;
using EdgeRuntime.Bench.Fuzzing;

namespace EdgeRuntime.Server.Tests;

public sealed class FuzzTests
{
    [Fact]
    public void Twenty_thousand_mutated_frames_give_only_typed_errors()
    {
        var report = ProtocolFuzzer.Run(20_000, seed: 1234);
        Assert.True(report.Crashes == 0, report.FirstCrash);
        Assert.Equal(0, report.Hangs);
        Assert.True(report.Accepted > 0 && report.Rejected > 0, $"accepted {report.Accepted}, rejected {report.Rejected}");
        // Memory stays bounded: no more than a few frame caps' worth beyond the start.
        Assert.True(report.PeakManagedBytes - report.StartManagedBytes < 256L << 20, $"peak {report.PeakManagedBytes}, start {report.StartManagedBytes}");
    }

    [Fact]
    public async Task Mutated_frames_over_a_live_socket_leave_the_daemon_serving()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxFrameBytes = 64 * 1024);
        var corpus = ProtocolFuzzer.Corpus();
        var random = new Random(99);
        for (int round = 0; round < 20; round++)
        {
            using var raw = server.Raw();
            for (int i = 0; i < 10; i++)
            {
                var frame = (byte[])corpus[random.Next(corpus.Count)].Clone();
                for (int flips = 0; flips < 3; flips++)
                {
                    int at = 4 + random.Next(frame.Length - 4);
                    frame[at] = (byte)random.Next(256);
                }
                try
                {
                    raw.SendBytes(frame);
                }
                catch (IOException)
                {
                    break;
                }
            }
        }
        var client = server.Client();
        var result = await client.InferAsync(TestServer.Image());
        Assert.Equal(10, result["logits"].ToArray<float>().Length);
        Assert.True((await client.StatusAsync()).Server.Healthy);
    }
}
