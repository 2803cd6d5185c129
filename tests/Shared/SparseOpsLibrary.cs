using Xunit;

namespace EdgeRuntime.Testing;

/// <summary>The native sparse-op library as `make native` builds it into the repository's .cache/native.</summary>
internal static class SparseOpsLibrary
{
    public const string FileName = "libedgert_sparse_ops.so";

    /// <summary>The library's path; fails on CI (which runs `make native` before the tests), skips elsewhere when it is not built.</summary>
    public static string Require()
    {
        string? directory = RepositoryRoot.TryFind();
        string? path = directory is null ? null : Path.Combine(directory, ".cache", "native", "sparse", FileName);
        if (path is not null && File.Exists(path))
        {
            return path;
        }
        Assert.False(Environment.GetEnvironmentVariable("CI") == "true", $"CI must build the native sparse library ({path ?? FileName}) with `make native` before the tests");
        Assert.Skip($"the native sparse library is not built ({path ?? FileName}); run `make native`");
        return null!;
    }
}
