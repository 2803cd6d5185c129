using System.Buffers;

namespace EdgeRuntime.Protocol;

/// <summary>One payload read from a stream. When pooled, its buffer goes back to the pool on dispose, so slices
/// of it (tensor data) must not outlive it.</summary>
public sealed class Frame : IDisposable
{
    private byte[]? _buffer;
    private readonly bool _pooled;

    internal Frame(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        Length = length;
        _pooled = pooled;
    }

    public int Length { get; }

    public ReadOnlyMemory<byte> Payload => (_buffer ?? throw new ObjectDisposedException(nameof(Frame))).AsMemory(0, Length);

    /// <summary>The payload as writable memory, for handing tensor slices to APIs that take Memory&lt;byte&gt;.</summary>
    public Memory<byte> WritablePayload => (_buffer ?? throw new ObjectDisposedException(nameof(Frame))).AsMemory(0, Length);

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
