using System.Runtime.InteropServices;

namespace EdgeRuntime.Server.Models;

/// <summary>The canonical path of an existing file or directory, every symbolic link on the way resolved (realpath(3)).</summary>
internal static partial class RealPath
{
    /// <summary>Null when the path does not exist or the system cannot say (then the caller checks the plain path).</summary>
    public static string? Of(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }
        nint resolved = Resolve(path, 0);
        if (resolved == 0)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Resolve(string path, nint buffer);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}
