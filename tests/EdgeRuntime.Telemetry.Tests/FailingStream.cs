namespace EdgeRuntime.Telemetry.Tests;

/// <summary>
/// A file stream that fails the n-th write (counted across every instance sharing the counter) after passing half
/// of its bytes through, as a disk that fills up or errors in the middle of a write would.
/// </summary>
internal sealed class FailingStream(Stream inner, FailingStream.Counter counter) : Stream
{
    internal sealed class Counter(int failAt)
    {
        public int Writes;
        public int FailAt { get; } = failAt;
        public bool Fired;

        public bool ShouldFail() => ++Writes == FailAt && (Fired = true);
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (counter.ShouldFail())
        {
            inner.Write(buffer[..(buffer.Length / 2)]);
            inner.Flush();
            throw new IOException("No space left on device (injected)");
        }
        inner.Write(buffer);
    }

    public override void Flush()
    {
        if (counter.ShouldFail())
        {
            throw new IOException("Input/output error (injected)");
        }
        inner.Flush();
    }

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
