using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EdgeRuntime.Bench.Brokers;
using EdgeRuntime.Fleet;
using EdgeRuntime.Fleet.Mqtt;

namespace EdgeRuntime.Uplink.Tests;

/// <summary>TLS with a private certificate authority made for the test, and a broker that wants a user name and password.</summary>
public sealed class TlsTests
{
    private const string User = "device";
    private const string Password = "s3cret-for-tests";

    [Fact]
    public async Task Telemetry_goes_through_tls_with_a_private_ca_and_a_password()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp, MakeCertificates(temp));
        string logs = temp.File("pi-7");
        long last = await UplinkFixtures.WriteRecordsAsync(logs, 200, deviceId: "pi-7");
        using var store = FleetStore.Open(temp.File("fleet.duckdb"));
        await using var ingest = new MqttIngest(store, Secure(UplinkFixtures.Broker(broker, "fleet-ingest"), temp));
        await ingest.StartAsync(TestContext.Current.CancellationToken);
        // Subscribed before the device sends: a new ingest session does not get what was published before it.
        await ingest.Session.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);

        var options = UplinkFixtures.Device(broker, logs, deviceId: "pi-7");
        options.Broker = Secure(options.Broker, temp);
        await using var session = new MqttSession(options.Broker, options.SessionExpiry);
        await using var uplink = new TelemetryUplink(options, session);
        session.Start();
        uplink.Start();
        await uplink.WaitForAsync(last, TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
        await UplinkFixtures.EventuallyAsync(() => ingest.Query(s => s.Count()) == last, "every record stored");
    }

    [Fact]
    public async Task A_wrong_password_an_untrusted_certificate_or_plain_tcp_never_connects()
    {
        using var temp = new TempDirectory();
        using var broker = await UplinkFixtures.StartBrokerAsync(temp, MakeCertificates(temp));
        var wrongPassword = Secure(UplinkFixtures.Broker(broker, "wrong-password"), temp);
        wrongPassword.Password = "not-the-password";
        var systemTrust = Secure(UplinkFixtures.Broker(broker, "system-trust"), temp);
        systemTrust.CaFile = null;
        var plain = UplinkFixtures.Broker(broker, "plain");
        plain.Username = User;
        plain.Password = Password;

        foreach (var options in new[] { wrongPassword, systemTrust, plain })
        {
            await using var session = new MqttSession(options, TimeSpan.Zero);
            session.Start();
            await UplinkFixtures.EventuallyAsync(() => session.FailedAttempts >= 2, $"{options.ClientId}: two refused attempts");
            Assert.False(session.IsConnected, options.ClientId);
            Assert.Equal(0, session.Connects);
            Assert.NotNull(session.LastError);
        }

        // The test-only escape hatch: any certificate (the password still counts).
        var untrusted = Secure(UplinkFixtures.Broker(broker, "untrusted"), temp);
        untrusted.CaFile = null;
        untrusted.AllowUntrustedCertificates = true;
        await using var accepted = new MqttSession(untrusted, TimeSpan.Zero);
        accepted.Start();
        await accepted.WaitConnectedAsync(TestContext.Current.CancellationToken).WaitAsync(UplinkFixtures.Patience, TestContext.Current.CancellationToken);
    }

    private static MqttBrokerOptions Secure(MqttBrokerOptions options, TempDirectory temp)
    {
        options.UseTls = true;
        options.CaFile = temp.File("ca.crt");
        options.Username = User;
        options.Password = Password;
        return options;
    }

    /// <summary>A CA and a server certificate for 127.0.0.1 signed by it, as PEM files.</summary>
    private static MosquittoSecurity MakeCertificates(TempDirectory temp)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=edgert test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(2));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), RandomNumberGenerator.GetBytes(8));

        File.WriteAllText(temp.File("ca.crt"), ca.ExportCertificatePem());
        File.WriteAllText(temp.File("server.crt"), server.ExportCertificatePem());
        File.WriteAllText(temp.File("server.key"), serverKey.ExportPkcs8PrivateKeyPem());
        return new MosquittoSecurity(temp.File("ca.crt"), temp.File("server.crt"), temp.File("server.key"), User, Password);
    }
}
