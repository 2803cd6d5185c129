namespace EdgeRuntime.Testing;

/// <summary>
/// Files on a disk that can be made full: while <see cref="Full"/> is set, writes and flushes fail as ENOSPC does.
/// Compiled into every test project; a telemetry log takes <see cref="Create"/> as its segment factory.
/// </summary>
internal sealed class FaultyDisk
{
    private volatile bool _full;

    public bool Full { get => _full; set => _full = value; }

    public Stream Create(string path) => new FaultyStream(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete), this);

    private sealed class FaultyStream(FileStream inner, FaultyDisk disk) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            ThrowIfFull();
            inner.Write(buffer);
        }

        public override void Flush()
        {
            ThrowIfFull();
            inner.Flush(flushToDisk: true);
        }

        private void ThrowIfFull()
        {
            if (disk.Full)
            {
                throw new IOException("No space left on device");
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
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
