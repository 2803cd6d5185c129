using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Formatter;

namespace EdgeRuntime.Uplink;

/// <summary>How to reach the MQTT broker; checked by <see cref="Validate"/> before any connection is tried.</summary>
public sealed class MqttBrokerOptions
{
    public string Host { get; set; } = "";
    public int Port { get; set; } = 1883;
    /// <summary>The client id; with a persistent session the broker keeps the subscriptions and queued messages under it.</summary>
    public string ClientId { get; set; } = "";
    public bool UseTls { get; set; }
    /// <summary>PEM file of the certificate authority that signed the broker's certificate (a private CA); null: the system's trust store.</summary>
    public string? CaFile { get; set; }
    /// <summary>Accept any broker certificate. For tests only: it gives up the protection TLS is there for.</summary>
    public bool AllowUntrustedCertificates { get; set; }
    public string? Username { get; set; }
    public string? Password { get; set; }
    /// <summary>First wait after a failed connection; doubled after each further failure up to <see cref="BackoffMax"/>.</summary>
    public TimeSpan BackoffMin { get; set; } = TimeSpan.FromSeconds(1);
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(2);
    /// <summary>How often a quiet connection is checked with a ping; a failed ping reconnects.</summary>
    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(15);
    /// <summary>Time allowed for connecting and for each publish or subscribe to be acknowledged.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Parses "HOST:PORT" (or "HOST", port 1883; "[::1]:1883" for IPv6).</summary>
    public static (string Host, int Port) ParseEndpoint(string endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        string host = endpoint;
        int port = 1883;
        int colon = endpoint.LastIndexOf(':');
        if (colon >= 0 && endpoint.IndexOf(']') < colon && (endpoint.StartsWith('[') || endpoint.IndexOf(':') == colon))
        {
            host = endpoint[..colon];
            string portText = endpoint[(colon + 1)..];
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                throw new ArgumentException($"MQTT broker '{endpoint}': port '{portText}' is not a number in 1-65535");
            }
        }
        host = host.Trim('[', ']');
        if (string.IsNullOrWhiteSpace(host))
        {
            throw new ArgumentException($"MQTT broker '{endpoint}' names no host; expected HOST:PORT");
        }
        return (host, port);
    }

    /// <summary>The same broker and settings under another client id (one per device or role, as the broker keeps sessions by it).</summary>
    public MqttBrokerOptions WithClientId(string clientId) => new()
    {
        Host = Host,
        Port = Port,
        ClientId = clientId,
        UseTls = UseTls,
        CaFile = CaFile,
        AllowUntrustedCertificates = AllowUntrustedCertificates,
        Username = Username,
        Password = Password,
        BackoffMin = BackoffMin,
        BackoffMax = BackoffMax,
        KeepAlive = KeepAlive,
        Timeout = Timeout,
    };

    /// <summary>Every problem with the settings, so one run reports all of them.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            problems.Add("Host is empty");
        }
        if (Port is < 1 or > 65535)
        {
            problems.Add($"Port {Port} is not in 1-65535");
        }
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            problems.Add("ClientId is empty");
        }
        else if (ClientId.Length > 128)
        {
            problems.Add($"ClientId is {ClientId.Length} characters; at most 128");
        }
        if (!UseTls && (CaFile is not null || AllowUntrustedCertificates))
        {
            problems.Add("CaFile and AllowUntrustedCertificates need UseTls");
        }
        if (CaFile is not null && !File.Exists(CaFile))
        {
            problems.Add($"CaFile '{CaFile}' does not exist");
        }
        if (Password is not null && string.IsNullOrEmpty(Username))
        {
            problems.Add("Password is set without Username");
        }
        if (BackoffMin <= TimeSpan.Zero)
        {
            problems.Add($"BackoffMin {BackoffMin} must be positive");
        }
        if (BackoffMax < BackoffMin)
        {
            problems.Add($"BackoffMax {BackoffMax} is below BackoffMin {BackoffMin}");
        }
        if (KeepAlive < TimeSpan.FromSeconds(1) || KeepAlive > TimeSpan.FromHours(18))
        {
            problems.Add($"KeepAlive {KeepAlive} must be between 1 s and 18 h");
        }
        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add($"Timeout {Timeout} must be positive");
        }
        return problems;
    }

    /// <exception cref="ArgumentException">Lists every invalid setting.</exception>
    public void Validate()
    {
        if (Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException($"invalid MQTT broker options: {string.Join("; ", problems)}");
        }
    }

    /// <param name="sessionExpiry">Zero: a clean session each connect; otherwise how long the broker keeps our session while we are away.</param>
    internal MqttClientOptions Build(TimeSpan sessionExpiry)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithTcpServer(Host, Port)
            .WithClientId(ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(sessionExpiry == TimeSpan.Zero)
            .WithSessionExpiryInterval((uint)Math.Min(uint.MaxValue, sessionExpiry.TotalSeconds))
            .WithKeepAlivePeriod(KeepAlive)
            .WithTimeout(Timeout);
        if (Username is not null)
        {
            builder.WithCredentials(Username, Password ?? "");
        }
        if (UseTls)
        {
            X509Certificate2Collection? authority = CaFile is null ? null : LoadAuthority(CaFile);
            builder.WithTlsOptions(tls =>
            {
                tls.UseTls(true);
                tls.WithTargetHost(Host);
                tls.WithCertificateValidationHandler(e => AllowUntrustedCertificates || CertificateTrust.Check(e.Certificate, e.SslPolicyErrors, authority));
            });
        }
        return builder.Build();
    }

    private static X509Certificate2Collection LoadAuthority(string path)
    {
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new ArgumentException($"CaFile '{path}' is not a PEM certificate file: {e.Message}", e);
        }
        if (collection.Count == 0)
        {
            throw new ArgumentException($"CaFile '{path}' holds no certificate");
        }
        return collection;
    }
}
