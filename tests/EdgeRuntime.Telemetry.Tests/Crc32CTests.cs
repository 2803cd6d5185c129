using System.Text;

namespace EdgeRuntime.Telemetry.Tests;

public sealed class Crc32CTests
{
    [Fact]
    public void Matches_the_published_check_values()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
    }

    [Fact]
    public void Append_continues_a_checksum_and_mask_round_trips()
    {
        var data = Encoding.ASCII.GetBytes("hello telemetry");
        Assert.Equal(Crc32C.Compute(data), Crc32C.Append(Crc32C.Compute(data.AsSpan(0, 5)), data.AsSpan(5)));
        uint crc = Crc32C.Compute(data);
        Assert.NotEqual(crc, Crc32C.Mask(crc));
        Assert.Equal(crc, Crc32C.Unmask(Crc32C.Mask(crc)));
    }

    [Fact]
    public void Every_split_and_alignment_gives_the_checksum_of_the_whole()
    {
        // Splits move bytes between the eight-byte and the single-byte steps, so both must agree.
        var data = new byte[300];
        new Random(12).NextBytes(data);
        for (int start = 0; start < 9; start++)
        {
            var whole = data.AsSpan(start);
            uint expected = Crc32C.Compute(whole);
            for (int split = 0; split <= whole.Length; split++)
            {
                Assert.Equal(expected, Crc32C.Append(Crc32C.Compute(whole[..split]), whole[split..]));
            }
        }
    }
}
