using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace EdgeRuntime.Server.Hosting;

/// <summary>
/// The sd_notify protocol: newline-separated KEY=VALUE states in one datagram to the Unix socket named by
/// NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";
    public const string WatchdogVariable = "WATCHDOG_USEC";
    public const string WatchdogPidVariable = "WATCHDOG_PID";

    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly UnixDomainSocketEndPoint _endpoint;

    public SystemdNotifier(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        Address = address;
        _endpoint = new UnixDomainSocketEndPoint(address[0] == '@' ? "\0" + address[1..] : address);
    }

    public string Address { get; }

    /// <summary>A notifier when the service manager asked for notifications, else null.</summary>
    public static SystemdNotifier? FromEnvironment(Func<string, string?> environment)
    {
        string? address = environment(SocketVariable);
        return string.IsNullOrEmpty(address) ? null : new SystemdNotifier(address);
    }

    /// <summary>The watchdog interval the service manager expects pings within, when it set one for this process.</summary>
    public static TimeSpan? WatchdogInterval(Func<string, string?> environment, int processId)
    {
        string? pid = environment(WatchdogPidVariable);
        if (!string.IsNullOrEmpty(pid) && pid != processId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }
        return ulong.TryParse(environment(WatchdogVariable), NumberStyles.None, CultureInfo.InvariantCulture, out ulong micros) && micros > 0
            ? TimeSpan.FromMicroseconds(micros)
            : null;
    }

    /// <summary>Sends one state datagram; false when the manager's socket cannot be reached.</summary>
    public bool Notify(string state)
    {
        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endpoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public bool Ready(string? status = null) => Notify(status is null ? "READY=1" : $"READY=1\nSTATUS={status}");
    public bool Watchdog() => Notify("WATCHDOG=1");
    public bool Stopping() => Notify("STOPPING=1");

    public void Dispose() => _socket.Dispose();
}
