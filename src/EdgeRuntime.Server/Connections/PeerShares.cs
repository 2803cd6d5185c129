using System.Buffers.Binary;
using System.Net.Sockets;

namespace EdgeRuntime.Server.Connections;

/// <summary>The process and user on the other end of a Unix socket, from the kernel (SO_PEERCRED), so they cannot be faked.</summary>
internal readonly record struct PeerCredentials(int ProcessId, uint UserId)
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    /// <summary>The peer of a Unix socket on Linux; null elsewhere (TCP, other systems) or when the kernel does not say.</summary>
    public static PeerCredentials? Of(Socket socket)
    {
        if (!OperatingSystem.IsLinux() || socket.AddressFamily != AddressFamily.Unix)
        {
            return null;
        }
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            if (socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred) < 12)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } in host byte order.
        return new PeerCredentials(BinaryPrimitives.ReadInt32LittleEndian(ucred), BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]));
    }
}

/// <summary>
/// Connections held per user and per process, so one app (or one user's processes together) cannot take every
/// slot of the daemon: each gets at most its share and the rest stays free for others.
/// </summary>
internal sealed class PeerShares(int perUser, int perProcess)
{
    private readonly Dictionary<uint, int> _byUser = [];
    private readonly Dictionary<int, int> _byProcess = [];
    private readonly Lock _gate = new();

    /// <returns>Null when the peer may open one more connection (it is counted), else why not.</returns>
    public string? TryTake(PeerCredentials peer)
    {
        lock (_gate)
        {
            int user = _byUser.GetValueOrDefault(peer.UserId);
            if (user >= perUser)
            {
                return $"user {peer.UserId} already holds {user} connections (at most {perUser} per user)";
            }
            int process = _byProcess.GetValueOrDefault(peer.ProcessId);
            if (process >= perProcess)
            {
                return $"process {peer.ProcessId} already holds {process} connections (at most {perProcess} per process)";
            }
            _byUser[peer.UserId] = user + 1;
            _byProcess[peer.ProcessId] = process + 1;
            return null;
        }
    }

    public void Release(PeerCredentials peer)
    {
        lock (_gate)
        {
            Decrement(_byUser, peer.UserId);
            Decrement(_byProcess, peer.ProcessId);
        }
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key) where TKey : notnull
    {
        if (counts.TryGetValue(key, out int count))
        {
            if (count <= 1)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count - 1;
            }
        }
    }
}
