using System.Globalization;
using System.Text;
using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Bench.Durability;

/// <summary>
/// The process a crash test kills: it appends records through the real <see cref="TelemetryLog"/> forever and
/// prints, on standard output, every sequence number the log reports durable. Each record's content is derived from
/// its sequence number, so a reader can check it without knowing what the writer did.
/// </summary>
/// <remarks>
/// Protocol, one line each: <c>open N</c> once the log is open (N: the last sequence recovered from the directory),
/// then <c>durable N</c> whenever the log says every record up to N is on the device: after <see cref="TelemetryLog.FlushAsync"/>
/// or when the background writer's own interval sync moves <see cref="TelemetryLog.DurableSequence"/>.
/// </remarks>
public static class CrashWriter
{
    public const string DeviceId = "crash-test";
    private const long TimeBase = 1_767_225_600_000;

    /// <summary>Small segments, so kills also land while a segment rolls over; nothing is ever evicted.</summary>
    public static TelemetryLogOptions LogOptions(string directory) => new()
    {
        Directory = directory,
        DeviceId = DeviceId,
        DeviceClass = "crash-test",
        SegmentBytes = 2 * LogFormat.BlockSize,
        MaxTotalBytes = long.MaxValue / 2,
        SyncPolicy = TelemetrySyncPolicy.Interval,
        SyncInterval = TimeSpan.FromMilliseconds(3),
        QueueCapacity = 256,
    };

    /// <summary>The record the writer stores under a sequence number.</summary>
    public static TelemetryRecord RecordFor(long sequence)
    {
        var record = TelemetryRecord.For(new TelemetryError { Source = "crash-test", Message = MessageFor(sequence) });
        record.UnixTimeMilliseconds = TimeBase + sequence;
        return record;
    }

    /// <summary>True when a record read back is exactly what the writer stored under its sequence number.</summary>
    public static bool IsIntact(TelemetryRecord record) =>
        record.DeviceId == DeviceId && record.Kind == TelemetryRecordKind.Error && record.UnixTimeMilliseconds == TimeBase + record.Sequence
        && record.Error is { Source: "crash-test" } error && error.Message == MessageFor(record.Sequence);

    /// <summary>A message of 1 to 1500 characters (so some records span two blocks) that only this sequence number yields.</summary>
    private static string MessageFor(long sequence)
    {
        ulong state = (ulong)sequence * 0x9E3779B97F4A7C15UL;
        int length = 1 + (int)(state >> 40) % 1500;
        var text = new StringBuilder(sequence.ToString(CultureInfo.InvariantCulture)).Append(':');
        while (text.Length < length)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.Append((char)('a' + (int)(state % 26)));
        }
        return text.ToString();
    }

    /// <summary>Writes until cancelled or killed. Returns only on cancellation.</summary>
    public static async Task RunAsync(string directory, int seed, TextWriter output, CancellationToken cancellationToken = default)
    {
        var random = new Random(seed);
        // Build the serializer before opening, so the time between kills goes to writing rather than to the JIT.
        TelemetryCodec.Encode(RecordFor(1));
        await using var log = TelemetryLog.Open(LogOptions(directory));
        long next = log.LastSequence + 1;
        long reported = log.DurableSequence;
        await Report(output, $"open {log.LastSequence}");
        while (!cancellationToken.IsCancellationRequested)
        {
            int batch = random.Next(1, 40);
            for (int i = 0; i < batch; i++)
            {
                // The log numbers records in the order they are queued, so the next accepted record gets `next`.
                var record = RecordFor(next);
                while (!log.TryWrite(record))
                {
                    await log.FlushAsync(cancellationToken);
                }
                next++;
            }
            if (random.Next(3) == 0)
            {
                if (!await log.FlushAsync(cancellationToken))
                {
                    throw new IOException($"telemetry log in '{directory}' failed to flush ({log.WriteErrors} write errors)");
                }
            }
            else
            {
                await Task.Delay(random.Next(0, 3), cancellationToken);
            }
            long durable = log.DurableSequence;
            if (durable > reported)
            {
                reported = durable;
                await Report(output, $"durable {durable}");
            }
        }
    }

    private static async Task Report(TextWriter output, string line)
    {
        await output.WriteLineAsync(line);
        await output.FlushAsync();
    }
}
