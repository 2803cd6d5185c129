using EdgeRuntime.Inference;

namespace EdgeRuntime.Server.Models;

/// <summary>
/// A runtime shared by the requests using it. The host holds one reference; each request holds one while it
/// runs. Retiring drops the host's, and the last request to finish disposes the runtime.
/// </summary>
internal sealed class RuntimeLease(ModelRuntime runtime, string path)
{
    private int _references = 1;
    private int _retired;

    public ModelRuntime Runtime { get; } = runtime;
    public string Path { get; } = path;

    /// <summary>Raised once, after the runtime is disposed.</summary>
    public event Action? Disposed;

    public bool TryAcquire()
    {
        while (true)
        {
            int current = Volatile.Read(ref _references);
            if (current == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Runtime.Dispose();
            Disposed?.Invoke();
        }
    }

    public void Retire()
    {
        if (Interlocked.Exchange(ref _retired, 1) == 0)
        {
            Release();
        }
    }
}
