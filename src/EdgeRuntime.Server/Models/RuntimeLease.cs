using EdgeRuntime.Inference;

namespace EdgeRuntime.Server.Models;

/// <summary>
/// A runtime shared by the requests using it. The host holds one reference; each request holds one while it
/// runs. Retiring drops the host's, and the last request to finish disposes the runtime.
/// </summary>
internal sealed class RuntimeLease(ModelRuntime runtime, string path)
{
    private readonly OwnerReferenceCount _references = new();

    public ModelRuntime Runtime { get; } = runtime;
    public string Path { get; } = path;

    /// <summary>Raised once, after the runtime is disposed.</summary>
    public event Action? Disposed;

    public bool TryAcquire() => _references.TryAcquire();

    public void Release()
    {
        if (_references.Release())
        {
            DisposeRuntime();
        }
    }

    public void Retire()
    {
        if (_references.Retire())
        {
            DisposeRuntime();
        }
    }

    private void DisposeRuntime()
    {
        Runtime.Dispose();
        Disposed?.Invoke();
    }
}
