namespace EdgeRuntime.Data.Tests;

/// <summary>A fresh directory under the system temp directory, deleted with its contents on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => FullPath = Directory.CreateTempSubdirectory("edgeruntime-data-tests-").FullName;

    public string FullPath { get; }

    public string PathOf(string fileName) => Path.Combine(FullPath, fileName);

    public string WriteFile(string fileName, byte[] content)
    {
        string path = PathOf(fileName);
        File.WriteAllBytes(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
