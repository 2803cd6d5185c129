namespace EdgeRuntime.Telemetry.Tests;

/// <summary>Framed logs built in memory with known payloads, for corruption tests.</summary>
internal static class LogFixtures
{
    /// <summary>Payloads of varied length (some spanning blocks), each filled with a pattern derived from its index.</summary>
    public static List<byte[]> Payloads(int count, int seed, int maxLength = 3000)
    {
        var random = new Random(seed);
        var payloads = new List<byte[]>();
        for (int i = 0; i < count; i++)
        {
            int length = i % 17 == 5 ? LogFormat.BlockSize + random.Next(1000) : random.Next(1, maxLength);
            var payload = new byte[length];
            random.NextBytes(payload);
            payloads.Add(payload);
        }
        return payloads;
    }

    public static byte[] Frame(IEnumerable<byte[]> payloads)
    {
        var stream = new MemoryStream();
        var writer = new LogBlockWriter(stream);
        foreach (var payload in payloads)
        {
            writer.AddRecord(payload);
        }
        return stream.ToArray();
    }

    public static (List<byte[]> Records, LogBlockReader Reader) ReadAll(byte[] log)
    {
        var reader = new LogBlockReader(new MemoryStream(log, writable: false));
        var records = new List<byte[]>();
        while (reader.ReadRecord() is byte[] record)
        {
            records.Add(record);
        }
        // Every byte is accounted for exactly once.
        Assert.Equal(log.Length, reader.AcceptedBytes + reader.PaddingBytes + reader.CorruptBytes + reader.TornTailBytes);
        return (records, reader);
    }
}
