using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EdgeRuntime.Bench.Brokers;

/// <summary>TLS and login settings of a <see cref="MosquittoBroker"/>.</summary>
public sealed record MosquittoSecurity(string CaFile, string CertFile, string KeyFile, string Username, string Password);

/// <summary>
/// A private Mosquitto broker on a free loopback port, with its configuration, persistence and log in a
/// directory of its own: for the uplink benchmark and the tests. It can be killed (SIGKILL, as in a crash) and
/// started again on the same port with the same persistence.
/// </summary>
public sealed class MosquittoBroker : IDisposable
{
    public const string DefaultBinary = "/usr/sbin/mosquitto";

    private readonly string _binary;
    private readonly string _configPath;
    private Process? _process;

    private MosquittoBroker(string binary, string directory, int port)
    {
        _binary = binary;
        Directory = directory;
        Port = port;
        _configPath = Path.Combine(directory, "mosquitto.conf");
    }

    public string Directory { get; }
    public int Port { get; }
    public string Host => "127.0.0.1";
    public string LogPath => Path.Combine(Directory, "mosquitto.log");
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Starts a broker and waits until it accepts connections.</summary>
    /// <exception cref="FileNotFoundException">Mosquitto is not installed.</exception>
    /// <exception cref="IOException">It did not start; the message holds its log.</exception>
    /// <param name="saveEveryChange">Write the persistence file after every change, so a killed broker loses (almost) nothing it
    /// acknowledged (what the crash tests need; it rewrites every queued message each time, so it is slow with a backlog).
    /// Otherwise Mosquitto's default: every 30 minutes and at a clean shutdown.</param>
    public static async Task<MosquittoBroker> StartAsync(string directory, MosquittoSecurity? security = null, string? binary = null, bool saveEveryChange = true,
        CancellationToken cancellationToken = default)
    {
        binary ??= Environment.GetEnvironmentVariable("EDGERT_MOSQUITTO") ?? DefaultBinary;
        if (!File.Exists(binary))
        {
            throw new FileNotFoundException($"the Mosquitto broker is not installed ({binary} is missing); install it with 'apt-get install mosquitto' " +
                "(or set EDGERT_MOSQUITTO to its path)", binary);
        }
        System.IO.Directory.CreateDirectory(directory);
        var broker = new MosquittoBroker(binary, directory, FreePort());
        await broker.WriteConfigAsync(security, saveEveryChange, cancellationToken).ConfigureAwait(false);
        await broker.StartProcessAsync(cancellationToken).ConfigureAwait(false);
        return broker;
    }

    /// <summary>Kills the broker at once (no chance to save anything), like a crash or power loss.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            process.WaitForExit();
            process.Dispose();
            _process = null;
        }
    }

    /// <summary>Starts it again on the same port with the same persistence file.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default)
    {
        Kill();
        return StartProcessAsync(cancellationToken);
    }

    private async Task WriteConfigAsync(MosquittoSecurity? security, bool saveEveryChange, CancellationToken cancellationToken)
    {
        var config = new StringBuilder();
        config.AppendLine(CultureInfo.InvariantCulture, $"listener {Port} 127.0.0.1");
        // Started as root, mosquitto would switch to its own user, who cannot read this directory.
        config.AppendLine(CultureInfo.InvariantCulture, $"user {Environment.UserName}");
        config.AppendLine("persistence true");
        config.AppendLine(CultureInfo.InvariantCulture, $"persistence_location {Directory}/");
        if (saveEveryChange)
        {
            config.AppendLine("autosave_on_changes true");
            config.AppendLine("autosave_interval 1");
        }
        config.AppendLine("max_queued_messages 0");
        config.AppendLine(CultureInfo.InvariantCulture, $"log_dest file {LogPath}");
        config.AppendLine("log_type error");
        config.AppendLine("log_type warning");
        config.AppendLine("log_type notice");
        if (security is null)
        {
            config.AppendLine("allow_anonymous true");
        }
        else
        {
            string passwords = Path.Combine(Directory, "passwords");
            await RunAsync("mosquitto_passwd", ["-b", "-c", passwords, security.Username, security.Password], cancellationToken).ConfigureAwait(false);
            config.AppendLine("allow_anonymous false");
            config.AppendLine(CultureInfo.InvariantCulture, $"password_file {passwords}");
            config.AppendLine(CultureInfo.InvariantCulture, $"cafile {security.CaFile}");
            config.AppendLine(CultureInfo.InvariantCulture, $"certfile {security.CertFile}");
            config.AppendLine(CultureInfo.InvariantCulture, $"keyfile {security.KeyFile}");
        }
        await File.WriteAllTextAsync(_configPath, config.ToString(), cancellationToken).ConfigureAwait(false);
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(_configPath);
        var process = Process.Start(info) ?? throw new IOException($"could not start {_binary}");
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new IOException($"mosquitto exited with code {process.ExitCode} at start: {ReadLog()}");
            }
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                Kill();
                throw new IOException($"mosquitto did not accept connections on port {Port} within 20 s ({e.Message}): {ReadLog()}");
            }
        }
    }

    private string ReadLog()
    {
        try
        {
            return File.Exists(LogPath) ? File.ReadAllText(LogPath).Trim() : "(no log)";
        }
        catch (IOException)
        {
            return "(log unreadable)";
        }
    }

    private static async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info) ?? throw new IOException($"could not start {tool}");
        string error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new IOException($"{tool} failed with code {process.ExitCode}: {error.Trim()}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose() => Kill();
}
