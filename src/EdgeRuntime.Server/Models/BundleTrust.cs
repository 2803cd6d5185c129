using EdgeRuntime.Deployment;
using EdgeRuntime.Deployment.Signing;

namespace EdgeRuntime.Server.Models;

/// <summary>With trusted keys configured, the daemon serves only bundles whose signature and every file verify.</summary>
internal static class BundleTrust
{
    /// <summary>Null when the bundle may be served (or no keys are configured), else why not.</summary>
    public static string? Problem(string path, string? trustedKeysDirectory)
    {
        if (trustedKeysDirectory is null)
        {
            return null;
        }
        if (!Directory.Exists(path))
        {
            return $"{DeploymentRefusal.Unsigned}: '{Path.GetFileName(path)}' is a bare model file; with trusted keys only signed bundle directories are served";
        }
        try
        {
            using var keys = TrustedKeys.Load(trustedKeysDirectory);
            SignedBundle.Verify(path, keys);
            return null;
        }
        catch (DeploymentRefusedException e)
        {
            return $"{e.Refusal}: {e.Message}";
        }
        catch (ArgumentException e)
        {
            return $"{DeploymentRefusal.UntrustedKey}: {e.Message}";
        }
    }
}
