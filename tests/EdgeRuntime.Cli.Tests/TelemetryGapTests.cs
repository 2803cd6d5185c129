using EdgeRuntime.Telemetry;

namespace EdgeRuntime.Cli.Tests;

/// <summary>`edgert telemetry verify` after a disk-full episode: the records never written are named, not passed over.</summary>
public sealed class TelemetryGapTests
{
    [Fact]
    public async Task Verify_reports_records_lost_to_a_full_disk_and_exits_1()
    {
        string directory = Path.Combine(Path.GetTempPath(), "edgert-gap-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            bool full = true;
            Stream Create(string path)
            {
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete);
                return full ? new FullDiskStream(file) : file;
            }
            await using (var log = TelemetryLog.Open(new TelemetryLogOptions { Directory = directory, RetryInterval = TimeSpan.Zero }, createSegment: Create))
            {
                // The first 414 records meet a full disk; the next 6 are written once space returns.
                for (int i = 0; i < 414; i++)
                {
                    Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "x", Value = i, Unit = "" })));
                }
                Assert.False(await log.FlushAsync());
                full = false;
                for (int i = 0; i < 6; i++)
                {
                    Assert.True(log.TryWrite(TelemetryRecord.For(new SensorSample { Name = "x", Value = i, Unit = "" })));
                }
                Assert.True(await log.FlushAsync());
            }
            var result = await Cli.RunAsync("telemetry", "verify", directory);
            Assert.Equal(1, result.ExitCode);
            Assert.Contains("records missing  414 (sequence 1-414", result.Output);
            Assert.DoesNotContain("  clean", result.Output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed class FullDiskStream(FileStream inner) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("No space left on device");
        public override void Flush() => throw new IOException("No space left on device");
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => 0;
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
