using System.Globalization;
using System.Runtime.InteropServices;

namespace EdgeRuntime.Server.Hosting;

/// <summary>Sets a socket file's mode and group, so apps in that group (and no one else) can reach the daemon.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
internal static partial class UnixSocketPermissions
{
    private const uint Unchanged = uint.MaxValue;

    /// <exception cref="IOException">The group is unknown or the file cannot be given to it.</exception>
    public static void Apply(string path, UnixFileMode mode, string? group)
    {
        File.SetUnixFileMode(path, mode);
        if (string.IsNullOrEmpty(group))
        {
            return;
        }
        uint gid = ResolveGroup(group);
        if (Chown(path, Unchanged, gid) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot give socket '{path}' to group '{group}' (gid {gid}): {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); the daemon must run as root or be a member of the group");
        }
    }

    /// <summary>A group name (looked up through the system's group database) or a number.</summary>
    public static uint ResolveGroup(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out uint numeric))
        {
            return numeric;
        }
        nint entry = GetGroupByName(group);
        if (entry == 0)
        {
            throw new IOException($"group '{group}' does not exist (create it, or give a group number)");
        }
        // struct group { char* gr_name; char* gr_passwd; gid_t gr_gid; ... } on glibc and musl alike.
        return (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
    }

    /// <summary>
    /// Whether an existing path is a Unix socket: opening a socket file fails with ENXIO, while regular files,
    /// FIFOs (non-blocking) and directories open. Only a socket may be removed as a crashed daemon's leftover.
    /// </summary>
    public static bool IsSocketFile(string path)
    {
        const int ReadOnlyNonBlocking = 0x800; // O_RDONLY | O_NONBLOCK, the same on x86 and ARM Linux
        const int NoSuchDeviceOrAddress = 6; // ENXIO
        int fd = Open(path, ReadOnlyNonBlocking);
        if (fd >= 0)
        {
            _ = Close(fd);
            return false;
        }
        return Marshal.GetLastPInvokeError() == NoSuchDeviceOrAddress;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "chown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Chown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetGroupByName(string name);
}
