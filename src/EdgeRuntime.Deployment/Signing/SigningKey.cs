using System.Security.Cryptography;

namespace EdgeRuntime.Deployment.Signing;

/// <summary>
/// An ECDSA P-256 key pair for signing bundles. P-256 because .NET's own cryptography has it on every platform
/// the runtime ships to (OpenSSL on Linux boards): no package and no native library to carry. The base class
/// library has no Ed25519, and the maintained package for it needs native libsodium on every board.
/// </summary>
public static class SigningKey
{
    public const string Algorithm = "ecdsa-p256-sha256";
    public const string PrivateKeyExtension = ".key";
    public const string PublicKeyExtension = ".pub";

    /// <summary>Short id of a public key: the first 16 hex digits of SHA-256 over its SubjectPublicKeyInfo.</summary>
    public static string KeyId(ECDsa key) => Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    /// <summary>Makes a new key pair: DIR/NAME.key (PKCS#8, owner-only) and DIR/NAME.pub, the file a device trusts.</summary>
    public static KeyFiles Create(string directory, string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.StartsWith('.'))
        {
            throw new ArgumentException($"key name '{name}' must be a plain file name");
        }
        Directory.CreateDirectory(directory);
        string privatePath = Path.Combine(directory, name + PrivateKeyExtension);
        string publicPath = Path.Combine(directory, name + PublicKeyExtension);
        foreach (string path in (string[])[privatePath, publicPath])
        {
            if (File.Exists(path))
            {
                throw new IOException($"'{path}' already exists; a key is never overwritten (pick another --name)");
            }
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var writer = new StreamWriter(privatePath, options))
        {
            writer.Write(key.ExportPkcs8PrivateKeyPem());
        }
        File.WriteAllText(publicPath, key.ExportSubjectPublicKeyInfoPem());
        return new KeyFiles(KeyId(key), privatePath, publicPath);
    }

    /// <summary>Reads a private key written by <see cref="Create"/>.</summary>
    public static ECDsa LoadPrivate(string path) => Load(path, requirePrivate: true);

    /// <summary>Reads a public key (or the public half of a private key file).</summary>
    public static ECDsa LoadPublic(string path) => Load(path, requirePrivate: false);

    private static ECDsa Load(string path, bool requirePrivate)
    {
        string pem;
        try
        {
            pem = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"key file '{path}' cannot be read: {e.Message}", e);
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
            var parameters = key.ExportParameters(false);
            if (parameters.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                throw new ArgumentException($"key file '{path}' is not a P-256 key ({parameters.Curve.Oid.FriendlyName})");
            }
            if (requirePrivate && !pem.Contains("PRIVATE KEY", StringComparison.Ordinal))
            {
                throw new ArgumentException($"key file '{path}' holds no private key; sign with the .key file");
            }
            return key;
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw e is ArgumentException { ParamName: null } && e.Message.Contains(path, StringComparison.Ordinal)
                ? e
                : new ArgumentException($"key file '{path}' is not a PEM ECDSA key: {e.Message}", e);
        }
    }
}

public sealed record KeyFiles(string KeyId, string PrivateKeyPath, string PublicKeyPath);
