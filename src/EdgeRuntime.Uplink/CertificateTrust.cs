using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace EdgeRuntime.Uplink;

/// <summary>Checks a broker's certificate against the system store, or against a private certificate authority.</summary>
internal static class CertificateTrust
{
    public static bool Check(X509Certificate? presented, SslPolicyErrors errors, X509Certificate2Collection? authority)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        // A name mismatch or a missing certificate is never forgiven; only an untrusted root may be, by our own CA.
        if (authority is null || presented is null || errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }
        using var certificate = new X509Certificate2(presented);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}
