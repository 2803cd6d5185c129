namespace EdgeRuntime.Testing;

/// <summary>The checkout the tests were built from: the first directory above the test binaries that holds EdgeRuntime.sln.</summary>
internal static class RepositoryRoot
{
    public static string? TryFind()
    {
        string? directory = AppContext.BaseDirectory;
        while (directory is not null && !File.Exists(Path.Combine(directory, "EdgeRuntime.sln")))
        {
            directory = Path.GetDirectoryName(directory);
        }
        return directory;
    }

    public static string Find() => TryFind() ?? throw new DirectoryNotFoundException($"no EdgeRuntime.sln above {AppContext.BaseDirectory}");
}
