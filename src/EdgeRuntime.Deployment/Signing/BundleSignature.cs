using System.Security.Cryptography;
using System.Text.Json;
using EdgeRuntime.Bundles;

namespace EdgeRuntime.Deployment.Signing;

/// <summary>
/// manifest.sig: a detached signature over the exact bytes of manifest.json. The manifest hashes every file of
/// the bundle (models, external data, reference checks) and carries the version, so the signature covers them all.
/// </summary>
public sealed record BundleSignature(string KeyId, string Algorithm, string Signature)
{
    public const string FileName = "manifest.sig";

    public string ToJson() => JsonSerializer.Serialize(this, ManifestJson.Options) + "\n";

    /// <exception cref="DeploymentRefusedException">BadSignature: the file is not a signature.</exception>
    public static BundleSignature Parse(string json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<BundleSignature>(json, ManifestJson.Options)
                ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.BadSignature, $"{source} is not a signature: {JsonErrorText.Describe(e)}");
        }
    }
}

/// <summary>Signs a bundle directory: sets its version when asked, then writes manifest.sig over manifest.json.</summary>
public static class BundleSigner
{
    public static SignResult Sign(string bundleDirectory, string privateKeyPath, long? version = null)
    {
        string manifestPath = Path.Combine(bundleDirectory, BundleManifest.FileName);
        var bundle = ModelBundle.Open(bundleDirectory);
        var manifest = bundle.Manifest;
        if (bundle.Variants.FirstOrDefault(v => v.Problem is not null) is { } broken)
        {
            throw new ArgumentException($"bundle '{bundleDirectory}': variant '{broken.Id}': {broken.Problem}; a bundle is signed only when every file matches its manifest");
        }
        if (version is long v)
        {
            if (v < 1)
            {
                throw new ArgumentException($"--version {v}: a bundle version is a whole number from 1 up");
            }
            manifest = manifest with { Version = v };
            ManifestJson.WriteAtomically(manifest, manifestPath);
        }
        if (manifest.Version < 1)
        {
            throw new ArgumentException($"bundle '{manifest.Name}' has no version; sign it with --version N (N counts up with every release)");
        }
        using var key = SigningKey.LoadPrivate(privateKeyPath);
        byte[] manifestBytes = File.ReadAllBytes(manifestPath);
        var signature = new BundleSignature(SigningKey.KeyId(key), SigningKey.Algorithm,
            Convert.ToBase64String(key.SignData(manifestBytes, HashAlgorithmName.SHA256)));
        AtomicFile.WriteAllText(Path.Combine(bundleDirectory, BundleSignature.FileName), signature.ToJson());
        return new SignResult(manifest.Name, manifest.Version, signature.KeyId, Path.Combine(bundleDirectory, BundleSignature.FileName));
    }
}

public sealed record SignResult(string BundleName, long Version, string KeyId, string SignaturePath);
