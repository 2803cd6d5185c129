namespace EdgeRuntime.Inference;

/// <summary>
/// Reference counting for a resource shared by an owner and the requests using it. The owner holds the first
/// reference; each request acquires one while it runs. Retiring drops the owner's reference (once), and whoever
/// drops the last reference is told so, to dispose the resource: no request ever sees it disposed under it.
/// </summary>
public sealed class OwnerReferenceCount
{
    private int _references = 1;
    private int _retired;

    /// <summary>True once the last reference is gone and the resource has been (or is being) disposed.</summary>
    public bool IsReleased => Volatile.Read(ref _references) == 0;

    /// <summary>Takes a reference, unless the resource is already gone.</summary>
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

    /// <summary>Drops a reference; true when it was the last one, so the caller must dispose the resource.</summary>
    public bool Release() => Interlocked.Decrement(ref _references) == 0;

    /// <summary>Drops the owner's reference the first time it is called; true when that was the last one.</summary>
    public bool Retire() => Interlocked.Exchange(ref _retired, 1) == 0 && Release();
}
