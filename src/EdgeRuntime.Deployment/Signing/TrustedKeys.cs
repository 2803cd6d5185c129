using System.Security.Cryptography;

namespace EdgeRuntime.Deployment.Signing;

/// <summary>
/// The public keys a device accepts bundles from: every *.pub in a directory (several at once, so a new key can be
/// rolled out before the old one is retired), minus the key ids listed in its <c>revoked</c> file.
/// </summary>
public sealed class TrustedKeys : IDisposable
{
    public const string RevokedFileName = "revoked";

    private readonly Dictionary<string, (ECDsa Key, string File)> _keys;

    private TrustedKeys(string directory, Dictionary<string, (ECDsa, string)> keys, IReadOnlySet<string> revoked)
    {
        Directory = directory;
        _keys = keys;
        Revoked = revoked;
    }

    public string Directory { get; }
    public IReadOnlySet<string> Revoked { get; }

    public IReadOnlyList<TrustedKey> List() =>
        [.. _keys.OrderBy(k => k.Value.File, StringComparer.Ordinal).Select(k => new TrustedKey(k.Key, k.Value.File, Revoked.Contains(k.Key)))];

    /// <exception cref="ArgumentException">The directory is missing, or a .pub file is not a P-256 public key.</exception>
    public static TrustedKeys Load(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new ArgumentException($"trusted keys directory '{directory}' does not exist");
        }
        var keys = new Dictionary<string, (ECDsa, string)>(StringComparer.Ordinal);
        try
        {
            foreach (string file in System.IO.Directory.EnumerateFiles(directory, "*" + SigningKey.PublicKeyExtension).Order(StringComparer.Ordinal))
            {
                var key = SigningKey.LoadPublic(file);
                keys.TryAdd(SigningKey.KeyId(key), (key, Path.GetFileName(file)));
            }
        }
        catch
        {
            foreach (var (key, _) in keys.Values)
            {
                key.Dispose();
            }
            throw;
        }
        string revokedPath = Path.Combine(directory, RevokedFileName);
        var revoked = File.Exists(revokedPath)
            ? File.ReadAllLines(revokedPath)
                .Select(line => line.Split('#', 2)[0].Trim())
                .Where(line => line.Length > 0)
                .ToHashSet(StringComparer.OrdinalIgnoreCase)
            : new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return new TrustedKeys(Path.GetFullPath(directory), keys, revoked);
    }

    /// <summary>Checks a detached signature over <paramref name="signedBytes"/>; throws naming the reason.</summary>
    /// <exception cref="DeploymentRefusedException">RevokedKey, UntrustedKey or BadSignature.</exception>
    public void Verify(BundleSignature signature, byte[] signedBytes, string what)
    {
        if (Revoked.Contains(signature.KeyId))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.RevokedKey, $"{what} is signed by key {signature.KeyId}, which is revoked on this device");
        }
        if (!_keys.TryGetValue(signature.KeyId, out var trusted))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.UntrustedKey,
                $"{what} is signed by key {signature.KeyId}, which is not among the {_keys.Count} trusted key(s) in '{Path.GetFileName(Directory)}'");
        }
        if (signature.Algorithm != SigningKey.Algorithm)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.BadSignature, $"{what}: signature algorithm '{signature.Algorithm}' is not {SigningKey.Algorithm}");
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(signature.Signature);
        }
        catch (FormatException)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.BadSignature, $"{what}: the signature is not base64");
        }
        if (!trusted.Key.VerifyData(signedBytes, bytes, HashAlgorithmName.SHA256))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.BadSignature,
                $"{what}: the signature by key {signature.KeyId} does not match manifest.json (the manifest or the signature was altered)");
        }
    }

    public void Dispose()
    {
        foreach (var (key, _) in _keys.Values)
        {
            key.Dispose();
        }
    }
}

public sealed record TrustedKey(string KeyId, string File, bool Revoked);
