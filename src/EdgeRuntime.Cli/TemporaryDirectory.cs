namespace EdgeRuntime.Cli;

/// <summary>A scratch directory of one command, deleted with what it holds when disposed.</summary>
internal sealed class TemporaryDirectory(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the system's temporary-file cleanup; nothing the user asked for is in it.
        }
    }
}
