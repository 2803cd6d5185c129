using EdgeRuntime.Bundles;

namespace EdgeRuntime.Deployment.Signing;

/// <summary>
/// Checks a bundle directory before a device installs, activates or serves it: the signature over manifest.json
/// against the trusted keys, then every file the manifest lists (size and SHA-256), and that there is no file the
/// manifest does not list. Unlike <see cref="ModelBundle.Open"/>, which serves the variants that pass, one bad
/// file refuses the whole bundle: a signed release is taken whole or not at all.
/// </summary>
public static class SignedBundle
{
    public static VerifiedBundle Verify(string directory, TrustedKeys keys)
    {
        string manifestPath = Path.Combine(directory, BundleManifest.FileName);
        string signaturePath = Path.Combine(directory, BundleSignature.FileName);
        if (!File.Exists(manifestPath))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, $"'{Path.GetFileName(directory)}' has no {BundleManifest.FileName}");
        }
        if (!File.Exists(signaturePath))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.Unsigned, $"bundle '{Path.GetFileName(directory)}' is unsigned: it has no {BundleSignature.FileName}");
        }
        byte[] manifestBytes = File.ReadAllBytes(manifestPath);
        var signature = BundleSignature.Parse(File.ReadAllText(signaturePath), BundleSignature.FileName);
        keys.Verify(signature, manifestBytes, $"bundle '{Path.GetFileName(directory)}'");
        BundleManifest manifest;
        try
        {
            manifest = ManifestJson.Parse(System.Text.Encoding.UTF8.GetString(manifestBytes), BundleManifest.FileName);
        }
        catch (BundleException e)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, e.Message);
        }
        var listed = ListedFiles(manifest);
        foreach (var file in listed)
        {
            CheckFile(directory, file);
        }
        var expected = listed.Select(f => Normalize(f.File)).Append(BundleManifest.FileName).Append(BundleSignature.FileName).ToHashSet(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
        {
            string relative = Normalize(Path.GetRelativePath(directory, path));
            if (!expected.Contains(relative))
            {
                throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch, $"file '{relative}' is not listed in the signed manifest");
            }
        }
        return new VerifiedBundle(Path.GetFullPath(directory), manifest, signature.KeyId);
    }

    /// <summary>Every file the manifest hashes: variant models, their external data, the reference checks.</summary>
    public static IReadOnlyList<ExternalDataFile> ListedFiles(BundleManifest manifest)
    {
        var files = new List<ExternalDataFile>();
        foreach (var variant in manifest.Variants)
        {
            files.Add(new ExternalDataFile { File = variant.File, Sha256 = variant.Sha256, SizeBytes = variant.SizeBytes });
            files.AddRange(variant.ExternalData);
        }
        if (manifest.ReferenceChecks is { } checks)
        {
            files.Add(checks);
        }
        return files;
    }

    private static void CheckFile(string directory, ExternalDataFile file)
    {
        string full = Path.GetFullPath(Path.Combine(directory, file.File));
        if (!full.StartsWith(Path.GetFullPath(directory) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.InvalidBundle, $"file '{file.File}' points outside the bundle");
        }
        if (!File.Exists(full))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch, $"file '{file.File}' is missing");
        }
        long size = new FileInfo(full).Length;
        if (size != file.SizeBytes)
        {
            throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch, $"file '{file.File}' is {size} bytes, the signed manifest says {file.SizeBytes}");
        }
        string actual = ModelBundle.ComputeSha256(full);
        if (!string.Equals(actual, file.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new DeploymentRefusedException(DeploymentRefusal.HashMismatch, $"sha256 mismatch for '{file.File}': signed manifest {file.Sha256}, file {actual}");
        }
    }

    private static string Normalize(string relative) => relative.Replace('\\', '/');
}

public sealed record VerifiedBundle(string Directory, BundleManifest Manifest, string KeyId);
